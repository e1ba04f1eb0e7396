/**
 * Redis restart (ARCHITECTURE §7.6): with AOF and `appendfsync always`, a run
 * suspended on a hook survives `kill -9` of redis-server and a restart on the
 * same port and data directory. The worker process and this client reconnect
 * on their own; the resume after the restart completes the run, and every
 * event acknowledged before the crash is still in the log, unchanged.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { closeWorkflowClient, configure, getHookByToken, resumeHook, start, type WorkflowEvent } from 'workflow-redis/api';
import { createKeyspace } from '../../lib/redis/keys.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { hookThenStep } from './fixtures/workflows.js';
import { readStepLog, WorkerPool } from './_workers.js';

const line = (e: WorkflowEvent) => `${e.eventId} ${e.type} ${e.correlationId}`;

describe('process: redis-server kill -9 and restart (AOF, appendfsync always)', function () {
  this.timeout(90_000);
  let dir: string;
  let redis: TestRedis | undefined;
  let probe: Redis | undefined;
  const pool = new WorkerPool();

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wfr-aof-'));
  });
  after(async () => {
    await pool.killAll();
    await closeWorkflowClient();
    probe?.disconnect();
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(pool.dump());
  });

  it('the suspended run resumes after the restart and completes; no acknowledged event is lost', async () => {
    redis = await startRedis({ appendonly: true, dir });
    const { url, port } = redis;
    const prefix = uniquePrefix('aof');
    const keys = createKeyspace(prefix);
    configure({ connection: url, prefix });
    probe = new Redis(url, { maxRetriesPerRequest: null });
    probe.on('error', () => undefined);
    const worker = await pool.spawn({ REDIS_URL: url, PREFIX: prefix, LOCK_MS: 3000, RECONCILE_MS: 1000 });

    const token = `restart:${prefix}`;
    const run = await start(hookThenStep, [token]);
    await waitFor(() => getHookByToken(token).then(() => true, () => false), { what: 'the hook' });
    // Suspended: the wake-up that created the hook has finished (no lease, no active replay job).
    await waitFor(
      async () =>
        (await probe!.exists(keys.runLease(run.runId))) === 0 &&
        (await probe!.llen(`${keys.bullPrefix}:workflows:active`)) === 0,
      { what: 'the run to suspend' },
    );
    const before = await run.events();
    expect(before.map((e) => e.type)).to.include.members(['run_created', 'run_started', 'step_completed', 'hook_created']);

    redis.kill();
    await waitFor(
      async () => {
        try {
          redis = await startRedis({ appendonly: true, dir, port });
          return true;
        } catch {
          return false; // the port is not free yet
        }
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'redis-server to restart on the same port' },
    );

    // The client reconnects by itself: the hook is still live after the restart.
    const hook = await waitFor(() => getHookByToken(token).catch(() => undefined), { timeoutMs: 20_000, what: 'the client to reconnect' });
    expect(hook!.runId).to.equal(run.runId);
    // returnValue is asked for after the restart: a waiter subscribed before it can miss the
    // run-finished notice while its subscriber reconnects (see the pending test below).
    const ended = run.returnValue;
    await resumeHook(token, { n: 7 });

    const value = await ended;
    expect(value.payload).to.deep.equal({ n: 7 });
    expect(value.pids).to.deep.equal([worker.pid, worker.pid]);

    const afterEvents = await run.events();
    expect(afterEvents.slice(0, before.length).map(line)).to.deep.equal(before.map(line));
    expect(afterEvents.filter((e) => e.type === 'hook_received')).to.have.length(1);
    expect(afterEvents.filter((e) => e.type === 'run_completed')).to.have.length(1);
    for (const id of ['step_1', 'step_2']) {
      expect(afterEvents.filter((e) => e.type === 'step_completed' && e.correlationId === id), id).to.have.length(1);
    }
    const ends = (await readStepLog(probe, prefix)).filter((r) => r.phase === 'end').map((r) => r.step);
    expect(ends).to.deep.equal(['step.a', 'step.b']);
  });

  // A run that finishes while the watcher's subscriber is reconnecting: its notice is lost, so
  // the watcher must wake its waiters after it has re-subscribed (lib/runtime/run-watcher.ts).
  it('a returnValue that waits across a reconnect of its subscriber still resolves', async function () {
    const url = redis!.url;
    const prefix = uniquePrefix('resub');
    configure({ connection: url, prefix });
    await pool.spawn({ REDIS_URL: url, PREFIX: prefix, RECONCILE_MS: 0 });
    const token = `resub:${prefix}`;
    const run = await start(hookThenStep, [token]);
    const ended = run.returnValue;
    ended.catch(() => undefined);
    await waitFor(() => getHookByToken(token).then(() => true, () => false), { what: 'the hook' });
    const admin = new Redis(url);
    try {
      // the waiter's subscription is in place once the channel has a subscriber
      const channel = createKeyspace(prefix).runFinishedChannel();
      await waitFor(async () => ((await admin.call('PUBSUB', 'NUMSUB', channel)) as [string, number])[1] > 0, { what: 'the subscription' });
      expect(Number(await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub'))).to.be.at.least(1);
      await resumeHook(token, { n: 1 });
      await waitFor(async () => (await run.status) === 'completed', { what: 'the run to complete in Redis' });
      const outcome = await Promise.race([
        ended.then(() => 'resolved'),
        new Promise((r) => setTimeout(() => r('still pending 5 s after the run completed'), 5000)),
      ]);
      expect(outcome).to.equal('resolved');
    } finally {
      admin.disconnect();
    }
  });
});
