/**
 * Runs: start idempotency, typed start errors that write nothing, cancel(),
 * listRuns filters and pagination, durable sleep.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createHook, defineStep, defineWorkflow, sleep } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, getRun, listRuns, resumeHook, start, type RunInfo } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { deferred, eventLines, expectRejection, expectThrow, waitForEvent } from './_util.js';

const N = 'engine-runs';

const echo = defineWorkflow(`${N}.echo`, async (x: unknown) => ({ echoed: x }));
const waiter = defineWorkflow(`${N}.waiter`, async (token: string) => {
  const hook = createHook<string>({ token });
  return await hook;
});

let stepGate = deferred();
let stepReturned = deferred();
const blocking = defineStep(`${N}.blocking`, async (label: string) => {
  await stepGate.promise;
  stepReturned.resolve();
  return `late result ${label}`;
});
const inlineBlocker = defineWorkflow(`${N}.inline-blocker`, async () => blocking('one'));
const queuedBlocker = defineWorkflow(`${N}.queued-blocker`, async () => Promise.all([blocking('a'), blocking('b')]));

const sleeper = defineWorkflow(`${N}.sleeper`, async () => {
  const t0 = Date.now();
  await sleep('200ms');
  return Date.now() - t0;
});

describe('engine: runs', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  let raw: Redis;
  const prefix = uniquePrefix('eng-runs');
  const keysOf = (p: string) => raw.keys(`*{${p}}*`);

  before(async () => {
    redis = await startRedis();
    raw = new Redis(redis.url);
    configure({ connection: redis.url, prefix });
    worker = await createWorker({
      workflows: [echo, waiter, inlineBlocker, queuedBlocker, sleeper],
      connection: redis.url,
      prefix,
      lockDurationMs: 5000,
      logger: () => undefined,
    });
  });
  after(async () => {
    stepGate.resolve();
    await worker?.close();
    await closeWorkflowClient();
    raw?.disconnect();
    await redis?.stop();
  });

  describe('start()', () => {
    it('is idempotent with opts.runId: the same run is returned and run_created is written once', async () => {
      const runId = `wrun_custom_${Math.random().toString(36).slice(2, 10)}`;
      const a = await start(echo, [1], { runId });
      const b = await start(echo, [2], { runId });
      expect(a.runId).to.equal(runId);
      expect(b.runId).to.equal(runId);
      expect(await a.returnValue).to.deep.equal({ echoed: 1 });
      const lines = await eventLines(a);
      expect(lines.filter((l) => l === 'run_created')).to.have.length(1);
      expect(lines.filter((l) => l === 'run_started')).to.have.length(1);
      // Starting again after completion still returns the same, finished run.
      const c = await start(echo, [3], { runId });
      expect(c.runId).to.equal(runId);
      expect(await c.returnValue).to.deep.equal({ echoed: 1 });
      expect((await eventLines(c)).filter((l) => l === 'run_created')).to.have.length(1);
    });

    it('is idempotent with opts.idempotencyKey: the first run is returned, one run_created', async () => {
      const idempotencyKey = `order-${Math.random().toString(36).slice(2, 10)}`;
      const runs = await Promise.all([1, 2, 3].map((x) => start(echo, [x], { idempotencyKey })));
      expect(new Set(runs.map((r) => r.runId)).size).to.equal(1);
      const run = runs[0]!;
      const out = (await run.returnValue) as { echoed: number };
      expect([1, 2, 3]).to.include(out.echoed);
      expect((await eventLines(run)).filter((l) => l === 'run_created')).to.have.length(1);
      const again = await start(echo, [4], { idempotencyKey });
      expect(again.runId).to.equal(run.runId);
      // A different key is a different run.
      const other = await start(echo, [5], { idempotencyKey: `${idempotencyKey}-other` });
      expect(other.runId).to.not.equal(run.runId);
      expect(await other.returnValue).to.deep.equal({ echoed: 5 });
    });

    it('rejects an unknown workflow name with WorkflowNotRegisteredError and writes nothing', async () => {
      const fresh = uniquePrefix('eng-runs-empty');
      configure({ connection: redis.url, prefix: fresh });
      try {
        const err = await expectThrow<{ workflowName: string }>(() => start(`${N}.no-such-workflow`, [1]), 'WorkflowNotRegisteredError');
        expect(err.workflowName).to.equal(`${N}.no-such-workflow`);
        expect(await keysOf(fresh)).to.deep.equal([]);
      } finally {
        configure({ connection: redis.url, prefix });
      }
    });

    it('rejects an argument containing a function with SerializationError and writes nothing', async () => {
      const fresh = uniquePrefix('eng-runs-empty');
      configure({ connection: redis.url, prefix: fresh });
      try {
        const err = await expectThrow<Error>(() => start(echo, [{ id: 1, callback: () => 'nope' }]), 'SerializationError');
        // The position of the function, not its key name (key names are user data).
        expect(err.message).to.include('workflow arguments → array index 0 → object property #2');
        expect(err.message).to.not.include('callback');
        expect(await keysOf(fresh)).to.deep.equal([]);
        // Same on a prefix whose store is already open: no new run anywhere. (Opening the
        // store lets BullMQ write its queues' meta keys in the background: not compared.)
        await listRuns();
        const dataKeys = async () => (await keysOf(fresh)).filter((k) => !/:(workflows|steps):meta$/.test(k));
        const before = await dataKeys();
        await expectThrow(() => start(echo, [Symbol('s')]), 'SerializationError');
        await expectThrow(() => start(`${N}.no-such-workflow`, []), 'WorkflowNotRegisteredError');
        expect((await dataKeys()).sort()).to.deep.equal(before.sort());
        expect((await listRuns()).data).to.deep.equal([]);
      } finally {
        configure({ connection: redis.url, prefix });
      }
    });
  });

  describe('cancel()', () => {
    it('cancels a run waiting on a hook: status cancelled, returnValue rejects, the token is released', async () => {
      const token = `${N}:cancel:${Math.random().toString(36).slice(2, 10)}`;
      const run = await start(waiter, [token]);
      await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
      const ended = run.returnValue.then(
        () => 'resolved',
        (e: Error) => e,
      );
      await run.cancel();

      expect(await getRun(run.runId).status).to.equal('cancelled');
      const err = await ended;
      expect((err as Error).name).to.equal('WorkflowRunCancelledError');
      await expectRejection(run.returnValue, 'WorkflowRunCancelledError');
      const before = (await run.events()).length;
      await expectRejection(resumeHook(token, 'too late'), 'HookNotFoundError');
      await expectRejection(getHookByToken(token), 'HookNotFoundError');
      const lines = await eventLines(run);
      expect(lines.length).to.equal(before);
      expect(lines[lines.length - 1]).to.equal('run_cancelled');
      // Cancel is idempotent.
      await run.cancel();
      expect((await eventLines(run)).filter((l) => l === 'run_cancelled')).to.have.length(1);
    });

    it('cancelling a finished run is refused (EntityConflictError) and changes nothing', async () => {
      const run = await start(echo, ['done']);
      await run.returnValue;
      const before = await eventLines(run);
      await expectRejection(run.cancel(), 'EntityConflictError');
      expect(await getRun(run.runId).status).to.equal('completed');
      expect(await eventLines(run)).to.deep.equal(before);
    });

    it('a step running inline when the run is cancelled: its late result is not recorded', async () => {
      stepGate = deferred();
      stepReturned = deferred();
      const run = await start(inlineBlocker, []);
      await waitForEvent(run, (e) => e.type === 'step_started', 'the step to start');
      const replaysBefore = worker.stats.replays;
      await run.cancel();
      stepGate.resolve();
      await stepReturned.promise;
      // The replay job that ran the step inline finishes once its commit was refused.
      await waitFor(() => worker.stats.replays > replaysBefore, { what: 'the replay job to finish' });

      const lines = await eventLines(run);
      expect(lines[lines.length - 1]).to.equal('run_cancelled');
      expect(lines).to.not.include('step_completed step_1');
      expect(await getRun(run.runId).status).to.equal('cancelled');
      await expectRejection(run.returnValue, 'WorkflowRunCancelledError');
    });

    it('steps running on the step queue when the run is cancelled: their late results are not recorded', async () => {
      stepGate = deferred();
      stepReturned = deferred();
      const run = await start(queuedBlocker, []);
      await waitFor(
        async () => (await run.events()).filter((e) => e.type === 'step_started').length === 2,
        { what: 'both steps to start' },
      );
      await run.cancel();
      stepGate.resolve();
      await stepReturned.promise;
      await waitFor(async () => (await worker.store.queues(queuedBlocker).steps.getActiveCount()) === 0, { what: 'the step jobs to finish' });

      const lines = await eventLines(run);
      const cancelledAt = lines.indexOf('run_cancelled');
      expect(cancelledAt).to.be.greaterThan(-1);
      expect(lines.slice(cancelledAt + 1)).to.deep.equal([]);
      expect(lines.filter((l) => l.startsWith('step_completed'))).to.deep.equal([]);
      expect(await getRun(run.runId).status).to.equal('cancelled');
    });
  });

  describe('listRuns()', () => {
    it('filters by status and workflowName and paginates with a cursor, newest first', async () => {
      const fresh = uniquePrefix('eng-runs-list');
      configure({ connection: redis.url, prefix: fresh });
      const w = await createWorker({ workflows: [echo, waiter], connection: redis.url, prefix: fresh, lockDurationMs: 5000 });
      try {
        const done: string[] = [];
        for (let i = 0; i < 5; i++) {
          const r = await start(echo, [i]);
          await r.returnValue;
          done.push(r.runId);
        }
        const waiting: string[] = [];
        const tokens: string[] = [];
        for (let i = 0; i < 2; i++) {
          const token = `${N}:list:${i}:${Math.random().toString(36).slice(2, 8)}`;
          const r = await start(waiter, [token]);
          await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
          waiting.push(r.runId);
          tokens.push(token);
        }
        const ids = (p: { data: RunInfo[] }) => p.data.map((r) => r.runId);

        const all = await listRuns();
        expect(ids(all)).to.have.members([...done, ...waiting]);
        expect(all.hasMore).to.equal(false);
        expect(all.cursor).to.equal(null);
        // Newest first.
        const created = all.data.map((r) => +r.createdAt);
        expect([...created].sort((a, b) => b - a)).to.deep.equal(created);

        const byName = await listRuns({ workflowName: `${N}.echo` });
        expect(ids(byName)).to.have.members(done);
        expect(byName.data.every((r) => r.workflowName === `${N}.echo` && r.status === 'completed')).to.equal(true);
        expect(byName.data.find((r) => r.runId === done[2])!.output).to.deep.equal({ echoed: 2 });

        expect(ids(await listRuns({ status: 'completed' }))).to.have.members(done);
        expect(ids(await listRuns({ status: 'running' }))).to.have.members(waiting);
        expect(ids(await listRuns({ status: 'running', workflowName: `${N}.waiter` }))).to.have.members(waiting);
        expect(ids(await listRuns({ status: 'running', workflowName: `${N}.echo` }))).to.deep.equal([]);
        expect(ids(await listRuns({ workflowName: `${N}.nothing-here` }))).to.deep.equal([]);

        // Pages of 2 over the five completed runs: 2 + 2 + 1, no overlap, same order as one page.
        const pages: string[][] = [];
        let cursor: string | null = null;
        for (let guard = 0; guard < 10; guard++) {
          const page = await listRuns({ workflowName: `${N}.echo`, limit: 2, cursor });
          pages.push(ids(page));
          expect(page.hasMore).to.equal(page.cursor !== null);
          cursor = page.cursor;
          if (!page.hasMore) break;
        }
        expect(pages.map((p) => p.length)).to.deep.equal([2, 2, 1]);
        expect(pages.flat()).to.deep.equal(ids(byName));

        // Status + name with pagination.
        const p1 = await listRuns({ status: 'running', workflowName: `${N}.waiter`, limit: 1 });
        expect(p1.hasMore).to.equal(true);
        const p2 = await listRuns({ status: 'running', workflowName: `${N}.waiter`, limit: 1, cursor: p1.cursor });
        expect(p2.hasMore).to.equal(false);
        expect([...ids(p1), ...ids(p2)]).to.have.members(waiting);

        // Status changes move runs between the status filters.
        await getRun(waiting[0]!).cancel();
        expect(ids(await listRuns({ status: 'cancelled' }))).to.deep.equal([waiting[0]]);
        expect(ids(await listRuns({ status: 'running' }))).to.deep.equal([waiting[1]]);
        await resumeHook(tokens[1]!, 'bye');
        await getRun(waiting[1]!).returnValue;
        expect(ids(await listRuns({ status: 'running' }))).to.deep.equal([]);
        expect(ids(await listRuns({ status: 'completed' }))).to.have.members([...done, waiting[1]]);

        await expectThrow(() => listRuns({ status: 'bogus' as never }), 'InvalidArgumentError');
        await expectThrow(() => listRuns({ limit: 0 }), 'InvalidArgumentError');
      } finally {
        await w.close();
        configure({ connection: redis.url, prefix });
      }
    });
  });

  describe('sleep()', () => {
    it("sleep('200ms') completes and takes at least 200 ms", async () => {
      const t0 = Date.now();
      const run = await start(sleeper, []);
      const inWorkflow = (await run.returnValue) as number;
      const wall = Date.now() - t0;
      expect(wall).to.be.at.least(200);
      expect(wall).to.be.lessThan(10_000);
      expect(inWorkflow).to.be.at.least(200);

      const events = await run.events();
      const created = events.find((e) => e.type === 'wait_created')!;
      const completed = events.find((e) => e.type === 'wait_completed')!;
      const resumeAt = (created.data as { resumeAt: number }).resumeAt;
      expect(resumeAt - +created.createdAt).to.be.within(50, 250);
      expect(+completed.createdAt).to.be.at.least(resumeAt);
      expect(events.filter((e) => e.type === 'wait_completed')).to.have.length(1);
      expect(events[events.length - 1]!.type).to.equal('run_completed');
    });
  });
});
