/**
 * The World's queue (lib/world/queue.ts) end to end: `queue()` → BullMQ →
 * an HTTP POST to a local server → `createQueueHandler` → the handler, on a
 * private redis-server, a key prefix per test.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { MessageId, ValidQueueName } from '@workflow/world';
import { resolveWorldConfig, WorldContext } from '../../lib/world/context.js';
import { createWorldQueue, type WorldQueueOptions, type WorldQueueParts } from '../../lib/world/queue.js';
import { WORLD_QUEUE_NAMES } from '../../lib/redis/keys.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';

type Meta = { attempt: number; queueName: ValidQueueName; messageId: MessageId };
type Handler = (body: unknown, meta: Meta) => Promise<void | { timeoutSeconds: number }>;

/** One POST the app received. */
interface Delivery {
  at: number;
  path: string;
  headers: Record<string, string>;
  raw: string;
  status: number;
}

/** One handler call: what it got, when it started and returned. */
interface Call {
  body: unknown;
  meta: Meta;
  at: number;
  returnedAt: number;
}

const WF = '__wkf_workflow_test' as ValidQueueName;
const STEP = '__wkf_step_test' as ValidQueueName;

describe('world queue', function () {
  let redis: TestRedis;
  const cleanups: (() => Promise<void>)[] = [];

  before(async function () {
    redis = await startRedis();
  });
  after(async function () {
    await redis.stop();
  });
  afterEach(async function () {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  });

  /** A World context of its own prefix; no `baseUrl` leaves the origin to PORT. */
  function context(baseUrl: string | undefined) {
    const ctx = new WorldContext(resolveWorldConfig({ redis: redis.url, prefix: uniquePrefix('wq'), baseUrl, concurrency: 4, deploymentId: 'dpl_test' }, {}));
    cleanups.push(() => ctx.close());
    return ctx;
  }

  /** An app serving both routes with `handler`, a started World queue delivering to it, and a BullMQ view of its queues. */
  async function harness(handler: Handler, opts: { queue?: WorldQueueOptions; viaPort?: boolean; start?: boolean } = {}) {
    const deliveries: Delivery[] = [];
    const calls: Call[] = [];
    const logs: string[] = [];
    // The server's routes use the World's handlers, built after the server knows its port.
    const world = {} as { q: WorldQueueParts };
    const record: Handler = async (body, meta) => {
      const call: Call = { body, meta, at: Date.now(), returnedAt: 0 };
      calls.push(call);
      try {
        return await handler(body, meta);
      } finally {
        call.returnedAt = Date.now();
      }
    };
    const server: Server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        void (async () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const headers: Record<string, string> = {};
          for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string') headers[k] = v;
          const d: Delivery = { at: Date.now(), path: req.url ?? '', headers, raw, status: 0 };
          deliveries.push(d);
          const prefix = d.path === '/.well-known/workflow/v1/flow' ? '__wkf_workflow_' : d.path === '/.well-known/workflow/v1/step' ? '__wkf_step_' : undefined;
          const response = prefix
            ? await world.q.createQueueHandler(prefix as '__wkf_workflow_', record)(new Request(`http://app${d.path}`, { method: 'POST', headers, body: raw }))
            : new Response('no such route', { status: 404 });
          d.status = response.status;
          res.writeHead(response.status, { 'content-type': 'application/json' });
          res.end(await response.text());
        })();
      });
    });
    // All interfaces: `localhost` (the PORT fallback) may resolve to ::1 or 127.0.0.1.
    await new Promise<void>((r) => server.listen(0, r));
    const port = (server.address() as AddressInfo).port;
    cleanups.push(
      () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    );
    const ctx = context(opts.viaPort ? undefined : `http://127.0.0.1:${port}`);
    const q = (world.q = createWorldQueue(ctx, { log: (level, msg, fields) => logs.push(`${level} ${msg} ${JSON.stringify(fields ?? {})}`), retryDelayMs: 100, ...opts.queue }));
    cleanups.push(() => q.close());
    if (opts.viaPort) process.env.PORT = String(port);
    if (opts.start !== false) await q.start();
    const view = {
      workflow: new Queue(WORLD_QUEUE_NAMES.workflow, { connection: ctx.redis, prefix: ctx.keys.bullPrefix }),
      step: new Queue(WORLD_QUEUE_NAMES.step, { connection: ctx.redis, prefix: ctx.keys.bullPrefix }),
    };
    cleanups.push(() => Promise.all([view.workflow.close(), view.step.close()]).then(() => undefined));
    /** Resolves once the message's job is gone (completed and removed): nothing can deliver it again. */
    const settled = (id: string, kind: 'workflow' | 'step' = 'workflow') =>
      waitFor(async () => (await view[kind].getJob(id)) === undefined, { timeoutMs: 20_000, what: `message ${id} to complete` });
    return { q, ctx, deliveries, calls, logs, view, settled };
  }

  it('delivers a message once: route, headers, and a body whose bytes and dates round-trip exactly', async function () {
    const h = await harness(async () => undefined);
    const bytes = new Uint8Array([0x00, 0xff, 0x01, 0x00, 0x80, 0xfe, 0xff, 0x00]);
    const requestedAt = new Date('2026-12-01T10:20:30.456Z');
    const payload = { runId: 'wrun_1', requestedAt, runInput: { input: bytes, deploymentId: 'dpl_test', workflowName: 'wf', specVersion: 5 }, note: 'null byte \u0000' };
    const { messageId } = await h.q.queue(WF, payload, { headers: { 'x-extra': 'yes' } });
    expect(messageId).to.match(/^msg_[0-9A-HJKMNP-TV-Z]{26}$/);
    await h.settled(messageId!);

    expect(h.deliveries).to.have.length(1);
    const [d] = h.deliveries;
    expect(d.path).to.equal('/.well-known/workflow/v1/flow');
    expect(d.headers['content-type']).to.equal('application/json');
    expect(d.headers['x-vqs-queue-name']).to.equal(WF);
    expect(d.headers['x-vqs-message-id']).to.equal(messageId);
    expect(d.headers['x-vqs-message-attempt']).to.equal('1');
    expect(d.headers['x-extra']).to.equal('yes');
    expect(d.status).to.equal(200);
    // The conformance server counts deliveries by the body's top-level runId.
    expect(JSON.parse(d.raw).runId).to.equal('wrun_1');

    expect(h.calls).to.have.length(1);
    const body = h.calls[0].body as typeof payload;
    expect(body.runInput.input).to.be.instanceOf(Uint8Array);
    expect([...body.runInput.input]).to.deep.equal([...bytes]);
    expect(body.requestedAt).to.be.instanceOf(Date);
    expect(body.requestedAt.toISOString()).to.equal(requestedAt.toISOString());
    expect(body).to.deep.equal(payload);
    expect(h.calls[0].meta).to.deep.equal({ attempt: 1, queueName: WF, messageId });
  });

  it('delivers step messages to the step route, and answers getDeploymentId from the config', async function () {
    const h = await harness(async () => undefined);
    const { messageId } = await h.q.queue(STEP, { workflowName: 'wf', workflowRunId: 'wrun_2', workflowStartedAt: 1, stepId: 'step_1' });
    await h.settled(messageId!, 'step');
    expect(h.deliveries.map((d) => [d.path, d.headers['x-vqs-queue-name'], d.status])).to.deep.equal([['/.well-known/workflow/v1/step', STEP, 200]]);
    expect(await h.q.getDeploymentId()).to.equal('dpl_test');
  });

  it('finds the app on localhost:$PORT when no baseUrl is set, PORT read at delivery time', async function () {
    const before = process.env.PORT;
    cleanups.push(async () => {
      if (before === undefined) delete process.env.PORT;
      else process.env.PORT = before;
    });
    const h = await harness(async () => undefined, { viaPort: true });
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_3' });
    await h.settled(messageId!);
    expect(h.calls.map((c) => c.meta.messageId)).to.deep.equal([messageId]);
  });

  it('does not deliver a message of delaySeconds: 1 before a second has passed', async function () {
    const h = await harness(async () => undefined);
    const t0 = Date.now();
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_4' }, { delaySeconds: 1 });
    await waitFor(() => h.calls.length === 1, { timeoutMs: 10_000, what: 'the delayed delivery' });
    const waited = h.calls[0].at - t0;
    expect(waited, 'ms from queue() to delivery').to.be.at.least(1000).and.below(5000);
    await h.settled(messageId!);
    expect(h.deliveries).to.have.length(1);
  });

  it('idempotencyKey: a second enqueue while the first message exists answers its id and delivers nothing more', async function () {
    const h = await harness(async () => undefined);
    const first = await h.q.queue(WF, { runId: 'wrun_5', stepName: 'n1' }, { idempotencyKey: 'step_1', delaySeconds: 1 });
    const again = await h.q.queue(WF, { runId: 'wrun_5', stepName: 'n2' }, { idempotencyKey: 'step_1' });
    const other = await h.q.queue(WF, { runId: 'wrun_5', stepName: 'n3' }, { idempotencyKey: 'step_2' });
    expect(again.messageId).to.equal(first.messageId);
    expect(other.messageId).to.not.equal(first.messageId);
    await h.settled(first.messageId!);
    await h.settled(other.messageId!);
    const got = h.calls.map((c) => [c.meta.messageId, (c.body as { stepName: string }).stepName]).sort((a, b) => a[1].localeCompare(b[1]));
    expect(got).to.deep.equal([
      [first.messageId, 'n1'],
      [other.messageId, 'n3'],
    ]);
  });

  it('{ timeoutSeconds } redelivers the same message: same id, attempts 2 and 3, after the time asked', async function () {
    const h = await harness(async (_body, meta) => {
      if (meta.attempt === 1) return { timeoutSeconds: 0 };
      if (meta.attempt === 2) return { timeoutSeconds: 1 };
      return undefined;
    });
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_6' });
    await waitFor(() => h.calls.length === 3, { timeoutMs: 15_000, what: 'three deliveries' });
    await h.settled(messageId!);
    expect(h.calls.map((c) => c.meta)).to.deep.equal([1, 2, 3].map((attempt) => ({ attempt, queueName: WF, messageId })));
    expect(h.deliveries.map((d) => d.headers['x-vqs-message-id'])).to.deep.equal([messageId, messageId, messageId]);
    expect(h.deliveries.map((d) => d.raw)).to.deep.equal(Array(3).fill(h.deliveries[0].raw));
    expect(h.calls[2].at - h.calls[1].returnedAt, 'ms between the timeoutSeconds: 1 reply and the redelivery').to.be.at.least(1000);
  });

  it('a 500 reply is retried with a growing attempt; logs name the error, never the payload', async function () {
    const secret = 'hook-token-SECRET-42';
    const h = await harness(async (_body, meta) => {
      if (meta.attempt < 3) throw new Error(`boom with ${secret}`);
    });
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_7', traceCarrier: { token: secret } });
    await waitFor(() => h.calls.length === 3, { timeoutMs: 15_000, what: 'three deliveries' });
    await h.settled(messageId!);
    expect(h.deliveries.map((d) => [d.headers['x-vqs-message-id'], d.headers['x-vqs-message-attempt'], d.status])).to.deep.equal([
      [messageId, '1', 500],
      [messageId, '2', 500],
      [messageId, '3', 200],
    ]);
    expect(h.logs.some((l) => l.includes('queue delivery failed'))).to.equal(true);
    expect(h.logs.filter((l) => l.includes(secret))).to.deep.equal([]);
  });

  it('drops a message after `attempts` failed deliveries, keeping the failed job', async function () {
    const h = await harness(
      async () => {
        throw new Error('always');
      },
      { queue: { attempts: 2 } },
    );
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_8' });
    await waitFor(async () => (await h.view.workflow.getJob(messageId!))?.failedReason !== undefined && (await h.view.workflow.getJobState(messageId!)) === 'failed', {
      timeoutMs: 15_000,
      what: 'the job to fail',
    });
    expect(h.calls.map((c) => c.meta.attempt)).to.deep.equal([1, 2]);
    expect(h.logs.some((l) => l.startsWith('error queue message dropped'))).to.equal(true);
  });

  it('a handler running 3 s (past the lock duration, renewed) is delivered exactly once', async function () {
    this.timeout(30_000);
    const h = await harness(() => new Promise((r) => setTimeout(() => r(undefined), 3000)), { queue: { lockDurationMs: 2000, stalledIntervalMs: 1000 } });
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_9' });
    await h.settled(messageId!);
    expect(h.calls).to.have.length(1);
    expect(h.calls[0].returnedAt - h.calls[0].at).to.be.at.least(2900);
    expect(h.deliveries.map((d) => d.status)).to.deep.equal([200]);
  });

  it('a redelivery after a stall (a process that took the message and died) reports attempt 2', async function () {
    this.timeout(30_000);
    const h = await harness(async () => undefined, { start: false, queue: { lockDurationMs: 1000, stalledIntervalMs: 500 } });
    const { messageId } = await h.q.queue(WF, { runId: 'wrun_13' });
    // A "process" takes the job and never renews its lock nor finishes it.
    const dead = new Worker(WORLD_QUEUE_NAMES.workflow, null, { connection: h.ctx.open('dead-worker', true) as Redis, prefix: h.ctx.keys.bullPrefix, lockDuration: 1000, autorun: false });
    cleanups.push(() => dead.close(true));
    const taken = await dead.getNextJob('dead-token');
    expect(taken?.id).to.equal(messageId);
    await h.q.start();
    await h.settled(messageId!);
    expect(h.calls.map((c) => c.meta)).to.deep.equal([{ attempt: 2, queueName: WF, messageId }]);
  });

  it('refuses queue names outside the official form, writing nothing', async function () {
    const ctx = context('http://127.0.0.1:9');
    const q = createWorldQueue(ctx, { log: () => undefined });
    cleanups.push(() => q.close());
    for (const name of ['__wkf_other_x', 'wkf_workflow_x', '__WKF_workflow_x', '__wkf_workflow_', '__9ns_wkf_step_x', '', 42]) {
      let err: unknown;
      try {
        await q.queue(name as ValidQueueName, { runId: 'wrun_10' });
      } catch (e) {
        err = e;
      }
      expect((err as Error)?.name, `queue(${JSON.stringify(name)})`).to.equal('WorkflowWorldError');
      expect((err as Error).message).to.include('__wkf_workflow_<name>');
    }
    expect(await ctx.redis.keys(`${ctx.keys.tag}*`)).to.deep.equal([]);
    // A namespaced name is a workflow message.
    const { messageId } = await q.queue('__acme_wkf_workflow_x' as ValidQueueName, { runId: 'wrun_10' }, { delaySeconds: 60 });
    const view = new Queue(WORLD_QUEUE_NAMES.workflow, { connection: ctx.redis, prefix: ctx.keys.bullPrefix });
    cleanups.push(() => view.close());
    expect((await view.getJob(messageId!))?.data.q).to.equal('__acme_wkf_workflow_x');
  });

  it('createQueueHandler answers 400 to a bad request without calling the handler, works detached, and maps results to replies', async function () {
    const ctx = context('http://127.0.0.1:9');
    const { createQueueHandler, close } = createWorldQueue(ctx, { log: () => undefined });
    cleanups.push(() => close());
    let called = 0;
    let answer: () => Promise<void | { timeoutSeconds: number }> = async () => undefined;
    const handle = createQueueHandler('__wkf_workflow_', async () => {
      called++;
      return answer();
    });
    const good = { 'x-vqs-queue-name': WF, 'x-vqs-message-id': 'msg_1', 'x-vqs-message-attempt': '1' };
    const send = (headers: Record<string, string>, body?: string) => handle(new Request('http://app/.well-known/workflow/v1/flow', { method: 'POST', headers, body }));
    const bad: [Record<string, string>, string | undefined, string][] = [
      [{ ...good, 'x-vqs-queue-name': '' }, '{}', 'x-vqs-queue-name'],
      [{ 'x-vqs-queue-name': WF, 'x-vqs-message-attempt': '1' }, '{}', 'x-vqs-message-id'],
      [{ 'x-vqs-queue-name': WF, 'x-vqs-message-id': 'msg_1' }, '{}', 'x-vqs-message-attempt'],
      [{ ...good, 'x-vqs-message-attempt': 'two' }, '{}', 'x-vqs-message-attempt'],
      [{ ...good, 'x-vqs-message-attempt': '0' }, '{}', 'x-vqs-message-attempt'],
      [{ ...good, 'x-vqs-queue-name': 'nope' }, '{}', 'not a queue name'],
      [{ ...good, 'x-vqs-queue-name': STEP }, '{}', 'Unhandled queue'],
      [good, undefined, 'Missing request body'],
      [good, '{"runId": ', 'not JSON'],
    ];
    for (const [headers, body, says] of bad) {
      const res = await send(headers, body);
      expect(res.status, says).to.equal(400);
      expect(((await res.json()) as { error: string }).error).to.include(says);
    }
    expect(called).to.equal(0);

    let res = await send(good, '{"runId":"wrun_11"}');
    expect([res.status, await res.json()]).to.deep.equal([200, { ok: true }]);
    answer = async () => ({ timeoutSeconds: 5 });
    res = await send(good, '{"runId":"wrun_11"}');
    expect([res.status, await res.json()]).to.deep.equal([200, { timeoutSeconds: 5 }]);
    answer = async () => {
      throw new Error('step failed');
    };
    res = await send(good, '{"runId":"wrun_11"}');
    expect(res.status).to.equal(500);
    expect(called).to.equal(3);
  });

  it('close() is idempotent and safe when the queue never started; queue() after close is refused', async function () {
    const ctx = context('http://127.0.0.1:9');
    const q = createWorldQueue(ctx, { log: () => undefined });
    await Promise.all([q.close(), q.close()]);
    await q.close();
    await q.start();
    let err: unknown;
    try {
      await q.queue(WF, { runId: 'wrun_12' });
    } catch (e) {
      err = e;
    }
    expect((err as Error)?.name).to.equal('WorkflowWorldError');
  });
});
