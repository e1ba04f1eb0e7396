/**
 * The demo's workflow: an order that waits for a human approval, with a
 * deadline, then charges and ships. Imported by the demo app and by worker
 * containers (`workflow-redis worker --import ./scripts/demo/workflows.ts`).
 */
import { createHook, defineStep, defineWorkflow, FatalError, getStepMetadata, sleep } from 'workflow-redis';

/** What the approver sends to the hook. */
export interface ApprovalPayload {
  approved: boolean;
  comment?: string;
}

/** An order placed in the demo. */
export interface Order {
  orderId: string;
  item: string;
  amount: number;
}

const reserveStock = defineStep('demo.reserveStock', async (order: Order) => {
  return { reservationId: `rsv-${order.orderId}`, item: order.item };
});

const chargeCard = defineStep('demo.chargeCard', async (order: Order) => {
  if (order.amount <= 0) throw new FatalError('Amount must be positive');
  // stepId is stable across retries: the idempotency key for a payment provider.
  return { chargeId: `ch-${getStepMetadata().stepId}`, amount: order.amount };
});

const shipOrder = defineStep('demo.shipOrder', async (order: Order, reservationId: string) => {
  return { trackingNumber: `TRK-${order.orderId.toUpperCase()}`, reservationId };
});

const releaseStock = defineStep('demo.releaseStock', async (reservationId: string) => ({ released: reservationId }));

/** How long an order waits for its approval before it is rejected. */
export const APPROVAL_DEADLINE = process.env.DEMO_APPROVAL_DEADLINE ?? '1h';

/** Human approval: reserve, wait for `approval:<orderId>` (or the deadline), then charge and ship. */
export const orderApproval = defineWorkflow('demo.orderApproval', async (order: Order) => {
  const { reservationId } = await reserveStock(order);
  const approval = createHook<ApprovalPayload>({
    token: `approval:${order.orderId}`,
    metadata: { orderId: order.orderId, item: order.item, amount: order.amount },
  });
  const decision = await Promise.race([
    approval.then((p) => p),
    sleep(APPROVAL_DEADLINE).then((): ApprovalPayload => ({ approved: false, comment: `no decision within ${APPROVAL_DEADLINE}` })),
  ]);
  if (!decision.approved) {
    await releaseStock(reservationId);
    return { orderId: order.orderId, status: 'rejected' as const, comment: decision.comment ?? '' };
  }
  const charge = await chargeCard(order);
  const shipment = await shipOrder(order, reservationId);
  return { orderId: order.orderId, status: 'shipped' as const, comment: decision.comment ?? '', charge, shipment };
});

/** Every workflow of the demo (for createWorker). */
export const demoWorkflows = [orderApproval];
