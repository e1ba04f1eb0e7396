/**
 * The commit window (lib/worker/drive.ts): new inline steps the workflow calls
 * within `commitWindowMs` of the replay's last commit run at once, and their
 * step_created, step_started and result are recorded together later, each
 * with the worker's clock. A step that outlasts the window has its start
 * recorded while it runs; 0 records every step's start before it runs. A
 * commit of such steps that is refused writes nothing: the steps run again on
 * the next replay, and each result is recorded once.
 */
import { expect } from 'chai';
import type { Job } from 'bullmq';
import { defineStep, defineWorkflow, getStepMetadata, getWorkflowMetadata } from 'workflow-redis';
import { closeWorkflowClient, configure, getRun, start } from 'workflow-redis/api';
import { createWorker } from 'workflow-redis/worker';
import { getStore } from '../../lib/runtime/config.js';
import { installDeterminism } from '../../lib/replay/determinism.js';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp, CommitOptions } from '../../lib/redis/store-types.js';
import type { Route } from '../../lib/domain/route.js';
import type { ReplayJobData } from '../../lib/queue/replay-job-data.js';
import { processReplayJob } from '../../lib/worker/replay-job.js';
import { MAX_AHEAD_OPS } from '../../lib/worker/drive.js';
import { readTimelineEvents } from '../../lib/inspect/read-timeline.js';
import { buildTimeline, type StepItem } from '../../lib/inspect/timeline.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { type Deferred, deferred, eventLines, stepLines, testReplayContext } from './_util.js';

const N = 'engine-window';

/** Step executions per run, and the stepStartedAt each saw. */
const executions = new Map<string, string[]>();
const startedAts = new Map<string, number[]>();
/** Blocks `slow` steps until the test releases them (key: run id). */
const gates = new Map<string, Deferred>();

function note(label: string) {
  const runId = getWorkflowMetadata().workflowRunId;
  executions.set(runId, [...(executions.get(runId) ?? []), label]);
  startedAts.set(runId, [...(startedAts.get(runId) ?? []), +getStepMetadata().stepStartedAt]);
}

const quick = defineStep(`${N}.quick`, async (i: number) => {
  note(`quick ${i}`);
  return i * 10;
});

const slow = defineStep(`${N}.slow`, async (i: number) => {
  note(`slow ${i}`);
  await gates.get(getWorkflowMetadata().workflowRunId)?.promise;
  return i * 100;
});

const threeQuick = defineWorkflow(`${N}.three`, async () => {
  const a = await quick(1);
  const b = await quick(2);
  return a + b + (await quick(3));
});

const napping = defineStep(`${N}.napping`, async (ms: number) => {
  await new Promise((r) => setTimeout(r, ms)); // real time passes inside the step
  return ms;
});

const oneNap = defineWorkflow(`${N}.one-nap`, async (ms: number) => napping(ms));

const manyQuick = defineWorkflow(`${N}.many`, async (n: number) => {
  let sum = 0;
  for (let i = 1; i <= n; i++) sum += await quick(i);
  return sum;
});

const slowInTheMiddle = defineWorkflow(`${N}.slow-middle`, async () => {
  const a = await quick(1);
  const b = await slow(2);
  return a + b + (await quick(3));
});

describe('engine: the commit window of inline steps', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let store: Store;
  const prefix = uniquePrefix('eng-window');

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    installDeterminism();
    store = await getStore();
  });
  after(async () => {
    await closeWorkflowClient();
    await redis?.stop();
  });

  /** A replay context with this window whose commits are counted (and may be tampered with). */
  function context(route: Route, commitWindowMs: number, before?: (opts: CommitOptions) => Promise<void>) {
    const commits: CommitOp[][] = [];
    const ctx = testReplayContext(store, route, {
      commitWindowMs,
      commits: {
        async commit(runId: string, epoch: number | null, ops: CommitOp[], cursor = '', opts: CommitOptions = {}) {
          await before?.(opts);
          const reply = await store.commit(runId, epoch, ops, cursor, opts);
          commits.push(ops);
          return reply;
        },
      },
    });
    return { ctx, commits };
  }

  /** The replay job start() added for the run (still waiting: no worker runs here). */
  async function firstJob(route: Route, runId: string): Promise<Job<ReplayJobData>> {
    const queue = store.queues(route).replays;
    return (await queue.getJob((await queue.getDeduplicationJobId(runId))!)) as Job<ReplayJobData>;
  }

  it('a new 3-step run is one commit; each step event carries the worker clock, and stepStartedAt is its start', async () => {
    const run = await start(threeQuick, []);
    const { ctx, commits } = context(threeQuick, 10_000);
    await processReplayJob(ctx, await firstJob(threeQuick, run.runId));
    expect(await getRun(run.runId).returnValue).to.equal(60);
    expect(commits, 'one commit').to.have.length(1);
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      ...stepLines(3),
      'run_completed',
    ]);
    const events = await store.readAllEvents(run.runId);
    const startedWc: number[] = [];
    for (const i of [1, 2, 3]) {
      const [created, started, done] = ['step_created', 'step_started', 'step_completed'].map(
        (t) => events.find((e) => e.type === t && e.correlationId === `step_${i}`)!,
      );
      expect(created!.wc, `step_${i} created`).to.be.a('number');
      expect(started!.wc, `step_${i} started`).to.equal(created!.wc);
      expect(done!.wc, `step_${i} completed`).to.be.at.least(started!.wc!);
      expect(JSON.parse(started!.data)).to.deep.equal({ json: { attempt: 1 } });
      startedWc.push(started!.wc!);
    }
    expect(startedAts.get(run.runId), 'getStepMetadata().stepStartedAt').to.deep.equal(startedWc);
    expect(executions.get(run.runId)).to.deep.equal(['quick 1', 'quick 2', 'quick 3']);
    const steps = await store.getSteps(run.runId);
    expect([1, 2, 3].map((i) => steps[`step_${i}`]!).map((s) => [s.s, s.a, s.st])).to.deep.equal(startedWc.map((st) => ['completed', 1, st]));
    expect(await store.client.exists(store.keys.runLease(run.runId)), 'no lease left behind').to.equal(0);
  });

  it('the timeline shows how long a step recorded after it ran took (its events keep the worker clock)', async () => {
    const run = await start(oneNap, [40]);
    const { ctx, commits } = context(oneNap, 10_000);
    await processReplayJob(ctx, await firstJob(oneNap, run.runId));
    expect(await getRun(run.runId).returnValue).to.equal(40);
    expect(commits, 'the step was recorded with its result').to.have.length(1);
    const { events } = await readTimelineEvents(run.runId, 100);
    const step = buildTimeline(events).find((i): i is StepItem => i.kind === 'step')!;
    expect(step.status).to.equal('completed');
    expect(step.durationMs, 'not 0: the three events share one commit').to.be.at.least(35);
  });

  it(`a long run of quick steps is committed in commits of at most ${MAX_AHEAD_OPS} ops run ahead`, async () => {
    const n = 400;
    const run = await start(manyQuick, [n]);
    const { ctx, commits } = context(manyQuick, 10_000);
    await processReplayJob(ctx, await firstJob(manyQuick, run.runId));
    expect(await getRun(run.runId).returnValue).to.equal((10 * n * (n + 1)) / 2);
    expect(commits.length).to.be.at.least(Math.ceil((3 * n) / MAX_AHEAD_OPS));
    for (const ops of commits) expect(ops.length).to.be.at.most(MAX_AHEAD_OPS + 2);
    const lines = await eventLines(run);
    expect(lines.filter((l) => l.startsWith('step_completed'))).to.have.length(n);
    expect(new Set(lines.filter((l) => l.startsWith('step_completed'))).size, 'each step once').to.equal(n);
    expect(executions.get(run.runId)).to.have.length(n);
  });

  for (const windowMs of [0, 30]) {
    it(`commitWindowMs ${windowMs}: a step still running when the window closes has its start recorded while it runs`, async () => {
      const run = await start(slowInTheMiddle, []);
      const gate = deferred();
      gates.set(run.runId, gate);
      const { ctx } = context(slowInTheMiddle, windowMs);
      const job = processReplayJob(ctx, await firstJob(slowInTheMiddle, run.runId));
      await waitFor(async () => (await eventLines(run)).includes('step_started step_2'), { what: 'step_2 to be recorded as started' });
      expect(executions.get(run.runId)).to.deep.equal(['quick 1', 'slow 2']);
      const lines = await eventLines(run);
      expect(lines, 'step_1 is recorded with it').to.include('step_completed step_1');
      expect(lines).to.not.include('step_completed step_2');
      gate.resolve();
      await job;
      expect(await getRun(run.runId).returnValue).to.equal(240);
      expect(await eventLines(run)).to.deep.equal([
        'run_created',
        'run_started',
        ...stepLines(3),
        'run_completed',
      ]);
      expect(executions.get(run.runId)).to.deep.equal(['quick 1', 'slow 2', 'quick 3']);
    });
  }

  it('a re-delivered first job runs no step before the start commit: a result the dead worker recorded is reused, not re-run', async () => {
    const run = await start(threeQuick, []);
    const job = await firstJob(threeQuick, run.runId);
    // The worker that got the job first started the run, recorded step_1 and died (its lease expired).
    const lease = await store.acquireRun(run.runId, 'dead-worker', 10_000);
    const input = JSON.stringify({ json: [1] });
    await store.commit(run.runId, lease.epoch, [
      { t: 'step_created', c: 'step_1', d: JSON.stringify({ json: { stepName: quick.stepName, input, mode: 'inline' } }), n: quick.stepName, m: 'inline', i: input },
      { t: 'step_started', c: 'step_1', m: 'inline' },
      { t: 'step_completed', c: 'step_1', d: JSON.stringify({ json: { result: 10 } }) },
    ]);
    await store.client.del(store.keys.runLease(run.runId));
    // BullMQ hands the stalled job out again.
    job.stalledCounter = 1;
    job.attemptsStarted = 2;
    const { ctx } = context(threeQuick, 10_000);
    await processReplayJob(ctx, job);
    expect(await getRun(run.runId).returnValue).to.equal(60);
    expect(executions.get(run.runId), 'step_1 is not run again').to.deep.equal(['quick 2', 'quick 3']);
    const lines = await eventLines(run);
    expect(lines.filter((l) => l === 'run_started')).to.have.length(1);
    expect(lines.filter((l) => l.startsWith('step_completed'))).to.deep.equal(['step_completed step_1', 'step_completed step_2', 'step_completed step_3']);
  });

  it('a refused commit of steps run ahead writes nothing; the next replay runs them again and records each result once', async () => {
    const run = await start(threeQuick, []);
    const stream = store.keys.runEvents(run.runId);
    let tampered = 0;
    const { ctx } = context(threeQuick, 10_000, async (opts) => {
      if (opts.strict && tampered === 0) {
        tampered++;
        // Something outside appends to the log while the steps run ahead of their commit.
        await store.client.xadd(stream, '*', 'type', 'run_started', 'correlationId', '', 'data', '{"json":{}}', 'createdAt', String(Date.now()));
      }
    });
    // The usual way (no start hint): the lease first, then the steps run ahead, then one strict commit.
    const job = (id: string) => ({ id, data: { runId: run.runId } }) as unknown as Job<ReplayJobData>;
    await processReplayJob(ctx, job('first'));
    expect(tampered).to.equal(1);
    expect(await eventLines(run), 'nothing of the refused commit').to.deep.equal(['run_created', 'run_started', 'run_started']);
    expect(executions.get(run.runId)).to.deep.equal(['quick 1', 'quick 2', 'quick 3']);
    expect(ctx.cache.peek(run.runId), 'the execution that ran ahead is dropped').to.equal(undefined);

    await processReplayJob(ctx, job('second'));
    expect(await getRun(run.runId).returnValue).to.equal(60);
    const lines = await eventLines(run);
    for (const i of [1, 2, 3]) expect(lines.filter((l) => l === `step_completed step_${i}`), `step_${i}`).to.have.length(1);
    // Steps run at least once: those whose results were refused ran again.
    expect(executions.get(run.runId)).to.deep.equal(['quick 1', 'quick 2', 'quick 3', 'quick 1', 'quick 2', 'quick 3']);
  });

  it('createWorker rejects a commitWindowMs that is negative, not a number, or not below a third of the lock duration', async () => {
    for (const commitWindowMs of [-1, Number.NaN, '5' as unknown as number, 10_000]) {
      let err: Error | undefined;
      try {
        await createWorker({ workflows: [threeQuick], connection: redis.url, prefix: uniquePrefix('eng-window-bad'), commitWindowMs });
      } catch (e) {
        err = e as Error;
      }
      expect(err?.name, String(commitWindowMs)).to.equal('InvalidArgumentError');
      expect(err?.message).to.match(/commitWindowMs/);
    }
  });
});
