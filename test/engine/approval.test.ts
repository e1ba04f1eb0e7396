/**
 * The human-approval flow end to end: start → the workflow waits on a custom
 * token → resumeHook from outside → two steps → completed with a result derived
 * from the payload; then the token is dead.
 */
import { expect } from 'chai';
import { createHook, defineStep, defineWorkflow, getStepMetadata } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, getRun, resumeHook, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { eventLines, expectRejection, resumeWhenReady } from './_util.js';

const N = 'engine-approval';

interface Approval {
  approved: boolean;
  approver: string;
  amount: number;
}

const reserve = defineStep(`${N}.reserve`, async (orderId: string, amount: number) => ({
  reservation: `res-${orderId}-${amount}`,
  stepId: getStepMetadata().stepId,
}));
const charge = defineStep(`${N}.charge`, async (reservation: string, amount: number) => `charged ${amount * 100} cents for ${reservation}`);

const approval = defineWorkflow(`${N}.order`, async (orderId: string) => {
  const hook = createHook<Approval>({ token: `approval:${orderId}`, metadata: { orderId } });
  const decision = await hook;
  if (!decision.approved) return { orderId, status: 'rejected' as const, by: decision.approver };
  const r = await reserve(orderId, decision.amount);
  const receipt = await charge(r.reservation, decision.amount);
  return { orderId, status: 'approved' as const, by: decision.approver, reservation: r.reservation, receipt };
});

describe('engine: approval workflow (hook → steps → completed)', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const prefix = uniquePrefix('eng-appr');

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [approval], connection: redis.url, prefix, lockDurationMs: 5000 });
  });
  after(async () => {
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('waits on approval:<id>, resumes from outside, runs two steps and completes with a payload-derived result', async () => {
    const orderId = `o-${Date.now()}`;
    const token = `approval:${orderId}`;
    const run = await start(approval, [orderId]);

    // The hook exists only once the workflow has suspended on it.
    const info = await resumeWhenReady(token, { approved: true, approver: 'alice', amount: 42 });
    expect(info.runId).to.equal(run.runId);
    expect(info.token).to.equal(token);
    expect(info.isWebhook).to.equal(false);
    expect(info.metadata).to.deep.equal({ orderId });

    const result = await run.returnValue;
    expect(result).to.deep.equal({
      orderId,
      status: 'approved',
      by: 'alice',
      reservation: `res-${orderId}-42`,
      receipt: `charged 4200 cents for res-${orderId}-42`,
    });

    expect(await getRun(run.runId).status).to.equal('completed');
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      'hook_created hook_1',
      'hook_received hook_1',
      'step_created step_1',
      'step_started step_1',
      'step_completed step_1',
      'step_created step_2',
      'step_started step_2',
      'step_completed step_2',
      'run_completed',
    ]);
    const events = await run.events();
    const received = events.find((e) => e.type === 'hook_received')!;
    expect((received.data as { payload: Approval }).payload).to.deep.equal({ approved: true, approver: 'alice', amount: 42 });
    const completed = events[events.length - 1]!;
    expect((completed.data as { output: unknown }).output).to.deep.equal(result);
    // Event timestamps come from the server clock and never go backwards.
    for (let i = 1; i < events.length; i++) expect(+events[i]!.createdAt).to.be.at.least(+events[i - 1]!.createdAt);

    // Finished means finished: the token is released and a late resume writes nothing.
    const before = events.length;
    const err = await expectRejection<{ token: string }>(resumeHook(token, { approved: false, approver: 'mallory', amount: 1 }), 'HookNotFoundError');
    expect(err.token).to.equal(token);
    await expectRejection(getHookByToken(token), 'HookNotFoundError');
    expect((await run.events()).length).to.equal(before);
    expect(await run.returnValue).to.deep.equal(result);
  });

  it('a rejection payload takes the other branch (the result depends on the payload)', async () => {
    const orderId = `o2-${Date.now()}`;
    const run = await start(approval, [orderId]);
    await resumeWhenReady(`approval:${orderId}`, { approved: false, approver: 'bob', amount: 0 });
    expect(await run.returnValue).to.deep.equal({ orderId, status: 'rejected', by: 'bob' });
    const lines = await eventLines(run);
    expect(lines.filter((l) => l.startsWith('step_'))).to.deep.equal([]);
    expect(lines[lines.length - 1]).to.equal('run_completed');
    await expectRejection(resumeHook(`approval:${orderId}`, { approved: true, approver: 'x', amount: 1 }), 'HookNotFoundError');
  });
});
