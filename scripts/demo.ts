/**
 * `npm start`: the demo app. An Express server with a human-approval workflow,
 * a worker in the same process (`DEMO_WORKER=0` leaves the work to separate
 * workers), the run inspector and the BullMQ dashboard.
 *
 * Start-up order, each step failing with one clear line and exit code 1:
 * hold the HTTP port (`PORT`), then Redis — `REDIS_URL` when set (checked to
 * answer within a few seconds), otherwise the demo's own `redis-server` from
 * PATH on 127.0.0.1:6390 (`DEMO_REDIS_PORT`), AOF on, data and a lock file in
 * `.data/redis` (`DEMO_DATA_DIR`; one server per directory, shared by demos
 * started on it) — then the worker and the routes.
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { randomBytes } from 'node:crypto';
import {
  closeWorkflowClient,
  configure,
  HookNotFoundError,
  InvalidArgumentError,
  listRuns,
  resumeHook,
  start,
} from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { workflowRouter } from 'workflow-redis/express';
import { demoWorkflows, orderApproval, type Order } from './demo/workflows.js';
import { renderHome, type OrderRow } from './demo/page.js';
import { checkRedis, DemoStartError, demoSettings, holdPort, safeRedisUrl, type DemoSettings, type HeldPort } from './demo/startup.js';
import { redisServerOnPath } from './redis-launcher.js';
import { launchSharedRedis, type SharedRedis } from './shared-redis.js';

const DASHBOARD_PATH = '/admin/queues';
const INSPECTOR_PATH = '/inspector';
/** How to run the CLI from here: from the sources (`npm start`), or compiled (the Docker image). */
const CLI = import.meta.url.endsWith('.ts') ? 'npm run cli --' : 'node dist/cli/main.js';
/** Set once the server holds its port: links and curl lines use it. */
let PUBLIC_URL = '';

async function resolveRedis(settings: DemoSettings): Promise<{ url: string; launched?: SharedRedis }> {
  if (settings.redisUrl) {
    console.log(`Checking Redis at REDIS_URL (${safeRedisUrl(settings.redisUrl)})...`);
    await checkRedis(settings.redisUrl);
    return { url: settings.redisUrl };
  }
  if (!redisServerOnPath()) {
    throw new DemoStartError(
      'No Redis to run on: REDIS_URL is not set and redis-server is not on PATH.\n' +
        'Fix it either way:\n' +
        '  - point the demo at a Redis:   REDIS_URL=redis://127.0.0.1:6379 npm start\n' +
        '  - or install redis-server:     apt-get install redis-server   (macOS: brew install redis)',
    );
  }
  const launched = await launchSharedRedis({ dataDir: settings.dataDir, port: settings.redisPort, appendonly: true, appendfsync: 'everysec' });
  const dir = settings.dataDir;
  console.log(
    {
      started: `REDIS_URL is not set: started redis-server (pid ${launched.pid}) at ${launched.url}, AOF on, data in ${dir}.`,
      reused: `REDIS_URL is not set: reusing the redis-server (pid ${launched.pid}) at ${launched.url} that another demo started on ${dir}; it stops when that demo stops.`,
      adopted: `REDIS_URL is not set: took over the redis-server (pid ${launched.pid}) at ${launched.url} that an earlier demo left running on ${dir}.`,
    }[launched.how],
  );
  return { url: launched.url, launched };
}

/** The dashboard is for operators: HTTP basic auth when DASHBOARD_PASSWORD is set, else loopback clients only. */
function dashboardAuth(req: Request, res: Response, next: NextFunction): void {
  const password = process.env.DASHBOARD_PASSWORD;
  if (password) {
    const [scheme, value] = (req.headers.authorization ?? '').split(' ');
    const given = scheme === 'Basic' && value ? Buffer.from(value, 'base64').toString().split(':').slice(1).join(':') : '';
    if (given === password) return next();
    res.set('WWW-Authenticate', 'Basic realm="workflow-redis dashboard"').status(401).send('Authentication required');
    return;
  }
  const ip = req.socket.remoteAddress ?? '';
  if (ip === '127.0.0.1' || ip === '::1' || ip === '::ffff:127.0.0.1') return next();
  res.status(403).send('The dashboard answers local clients only; set DASHBOARD_PASSWORD to allow others with basic auth.');
}

function newOrderId(): string {
  return `o-${randomBytes(4).toString('hex')}`;
}

async function placeOrder(item: string, amount: number): Promise<{ order: Order; runId: string }> {
  const order: Order = { orderId: newOrderId(), item, amount };
  const run = await start(orderApproval, [order]);
  return { order, runId: run.runId };
}

function curlLine(orderId: string): string {
  const body = JSON.stringify({ token: `approval:${orderId}`, data: { approved: true, comment: 'looks good' } });
  return `curl -s -X POST ${PUBLIC_URL}/hooks/resume -H 'content-type: application/json' -d '${body}'`;
}

async function recentOrders(): Promise<OrderRow[]> {
  const page = await listRuns({ workflowName: orderApproval.workflowName, limit: 25 });
  return page.data.map((r) => {
    const order = (r.input[0] ?? {}) as Partial<Order>;
    const out = r.output as { status?: string; comment?: string } | undefined;
    return {
      orderId: order.orderId ?? '',
      runId: r.runId,
      item: order.item ?? '',
      amount: order.amount ?? 0,
      status: r.status,
      outcome: out?.status ? `${out.status}${out.comment ? ` (${out.comment})` : ''}` : r.error?.message ?? '',
      createdAt: r.createdAt,
    };
  });
}

async function main(): Promise<void> {
  const settings = demoSettings();
  // The port first: a busy port must fail before Redis or a worker is started.
  const http = await holdPort(settings.port);
  PUBLIC_URL = settings.publicUrl ?? `http://localhost:${http.port}`;
  let redis: { url: string; launched?: SharedRedis } | undefined;
  let worker: WorkflowWorker | undefined;
  const shutdown = async () => {
    http.server.close();
    http.server.closeAllConnections?.();
    await worker?.close().catch(() => undefined);
    await closeWorkflowClient().catch(() => undefined);
    await redis?.launched?.stop();
  };
  // From here on a signal stops whatever has started (a launched redis-server included).
  let stopping = false;
  const onSignal = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${signal}: draining the worker and stopping...`);
    setTimeout(() => process.exit(1), 15_000).unref();
    await shutdown();
    process.exit(0);
  };
  process.on('SIGINT', () => void onSignal('SIGINT'));
  process.on('SIGTERM', () => void onSignal('SIGTERM'));
  try {
    redis = await resolveRedis(settings);
    configure({ connection: redis.url, publicUrl: PUBLIC_URL });
    worker = settings.worker
      ? await createWorker({ workflows: demoWorkflows, connection: redis.url, publicUrl: PUBLIC_URL, concurrency: 20 })
      : undefined;
    await serveDemo(http, redis.url, worker !== undefined);
  } catch (err) {
    if (!stopping) await shutdown();
    throw err;
  }
}

async function serveDemo(http: HeldPort, redisUrl: string, withWorker: boolean): Promise<void> {
  const app = express();
  app.get('/', async (_req, res, next) => {
    try {
      res.type('html').send(renderHome({ orders: await recentOrders(), inspectorPath: INSPECTOR_PATH, dashboardPath: DASHBOARD_PATH }));
    } catch (err) {
      next(err);
    }
  });
  app.post('/orders', express.json(), async (req, res, next) => {
    const { item, amount } = (req.body ?? {}) as { item?: unknown; amount?: unknown };
    if (typeof item !== 'string' || item.length === 0 || item.length > 200 || typeof amount !== 'number' || !(amount > 0)) {
      res.status(400).json({ error: 'Send JSON { "item": "<name>", "amount": <positive number> }' });
      return;
    }
    try {
      const placed = await placeOrder(item, amount);
      res.status(201).json({ orderId: placed.order.orderId, runId: placed.runId, approve: curlLine(placed.order.orderId) });
    } catch (err) {
      next(err);
    }
  });
  app.post('/orders/:orderId/decision', express.json(), async (req, res, next) => {
    const { approved, comment } = (req.body ?? {}) as { approved?: unknown; comment?: unknown };
    if (typeof approved !== 'boolean') {
      res.status(400).json({ error: 'Send JSON { "approved": true|false, "comment"?: "..." }' });
      return;
    }
    try {
      const hook = await resumeHook(`approval:${req.params.orderId}`, { approved, comment: typeof comment === 'string' ? comment : undefined });
      res.json({ runId: hook.runId });
    } catch (err) {
      if (HookNotFoundError.is(err)) res.status(404).json({ error: 'No order waiting for approval with this id' });
      else if (InvalidArgumentError.is(err)) res.status(400).json({ error: (err as Error).message });
      else next(err);
    }
  });
  // Run routes and the inspector show event logs and live tokens: without `auth` they would answer 403.
  // The dashboard uses the same guard (dashboard.auth defaults to auth).
  app.use(workflowRouter({ auth: dashboardAuth, dashboard: { path: DASHBOARD_PATH }, inspector: { path: INSPECTOR_PATH } }));

  http.serve(app);

  const first = await placeOrder('Espresso machine', 249);
  console.log(`
workflow-redis demo is running
  App:        ${PUBLIC_URL}/
  Inspector:  ${PUBLIC_URL}${INSPECTOR_PATH}
  Dashboard:  ${PUBLIC_URL}${DASHBOARD_PATH}   (local clients; set DASHBOARD_PASSWORD for basic auth)
  Redis:      ${safeRedisUrl(redisUrl)}   worker: ${withWorker ? 'in this process' : 'none here (DEMO_WORKER=0): run workers separately'}
  CLI:        REDIS_URL=${safeRedisUrl(redisUrl)} ${CLI} runs list

Order ${first.order.orderId} is waiting for approval (run ${first.runId}). Approve it with:
  ${curlLine(first.order.orderId)}
Then open ${PUBLIC_URL}${INSPECTOR_PATH}?run=${first.runId} to see the run complete.
Press Ctrl+C to stop.`);
}

main().catch((err) => {
  // A DemoStartError is the whole explanation; anything else gets one line, not a stack.
  console.error(err instanceof DemoStartError ? err.message : `The demo could not start: ${(err as Error).message}`);
  process.exit(1);
});
