/**
 * A new run is started without a separate lease call (lib/worker/replay-job.ts):
 * its first replay job carries a start hint (workflow name and input), the
 * worker runs the code up to its first intents and the first commit takes the
 * lease with them. When the run was started meanwhile (a re-delivered job),
 * that commit writes nothing and the worker replays the run the usual way.
 */
import { expect } from 'chai';
import type { Job } from 'bullmq';
import { defineStep, defineWorkflow, getWorkflowMetadata } from 'workflow-redis';
import { closeWorkflowClient, configure, getRun, start } from 'workflow-redis/api';
import { getStore } from '../../lib/runtime/config.js';
import { installDeterminism } from '../../lib/replay/determinism.js';
import type { Store } from '../../lib/redis/store.js';
import type { ReplayJobData } from '../../lib/queue/replay-job-data.js';
import { processReplayJob } from '../../lib/worker/replay-job.js';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { eventLines, stepLines, testReplayContext } from './_util.js';

const N = 'engine-new-run';

/** Step executions and workflow clocks per run. */
const executions = new Map<string, string[]>();
const clocks = new Map<string, number[]>();

const add = defineStep(`${N}.add`, async (i: number) => {
  const runId = getWorkflowMetadata().workflowRunId;
  executions.set(runId, [...(executions.get(runId) ?? []), `add ${i}`]);
  return i + 1;
});

const twoSteps = defineWorkflow(`${N}.two`, async (x: number) => {
  clocks.set(getWorkflowMetadata().workflowRunId, [...(clocks.get(getWorkflowMetadata().workflowRunId) ?? []), Date.now()]);
  const a = await add(x);
  return add(a);
});

describe('engine: a new run started by its first commit', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let store: Store;

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix: uniquePrefix('eng-new') });
    installDeterminism();
    store = await getStore();
  });
  after(async () => {
    await closeWorkflowClient();
    await redis?.stop();
  });

  /** A replay context whose store counts acquireRun calls. */
  function context() {
    const calls = { acquireRun: 0 };
    const counting = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'acquireRun') {
          return (...args: Parameters<Store['acquireRun']>) => {
            calls.acquireRun++;
            return target.acquireRun(...args);
          };
        }
        const v = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
    const ctx = testReplayContext(counting, twoSteps, { inlineLimit: 4 });
    return { ctx, calls };
  }

  /** The replay job start() added for the run (still waiting: no worker runs here). */
  async function firstJob(runId: string): Promise<Job<ReplayJobData>> {
    const queue = store.queues(twoSteps).replays;
    const job = await queue.getJob((await queue.getDeduplicationJobId(runId))!);
    expect(job?.data.start, 'the job carries a start hint').to.deep.include({ workflowName: twoSteps.workflowName });
    return job as Job<ReplayJobData>;
  }

  it('runs the new run to completion without acquireRun; its clock starts at the recorded startedAt', async () => {
    const run = await start(twoSteps, [1]);
    const job = await firstJob(run.runId);
    const { ctx, calls } = context();
    await processReplayJob(ctx, job);
    expect(calls.acquireRun, 'no separate lease call').to.equal(0);
    expect(await getRun(run.runId).status).to.equal('completed');
    expect(await getRun(run.runId).returnValue).to.equal(3);
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      ...stepLines(2),
      'run_completed',
    ]);
    expect(executions.get(run.runId)).to.deep.equal(['add 1', 'add 2']);
    const info = await run.info();
    expect(+info.startedAt!).to.be.at.least(+info.createdAt);
    const startedEvent = (await store.readAllEvents(run.runId)).find((e) => e.type === 'run_started')!;
    expect(startedEvent.wc).to.equal(+info.startedAt!);
    expect(clocks.get(run.runId)).to.deep.equal([+info.startedAt!]);
    expect(await store.client.exists(store.keys.runLease(run.runId)), 'no lease left behind').to.equal(0);
  });

  it('a re-delivered first job of a run started meanwhile: nothing is written twice, the run is replayed from its log', async () => {
    const run = await start(twoSteps, [10]);
    const job = await firstJob(run.runId);
    // Another worker took the run, committed step_1's intents and died mid-step (its lease expired).
    const lease = await store.acquireRun(run.runId, 'dead-worker', 10_000);
    const created = await store.commit(run.runId, lease.epoch, [
      { t: 'step_created', c: 'step_1', d: JSON.stringify({ json: { stepName: add.stepName, input: JSON.stringify({ json: [10] }), mode: 'inline' } }), n: add.stepName, m: 'inline', i: JSON.stringify({ json: [10] }) },
      { t: 'step_started', c: 'step_1', m: 'inline' },
    ]);
    expect(created.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
    await store.client.del(store.keys.runLease(run.runId));

    const { ctx, calls } = context();
    await processReplayJob(ctx, job);
    expect(calls.acquireRun, 'the usual way after the refused start').to.equal(1);
    expect(await getRun(run.runId).status).to.equal('completed');
    expect(await getRun(run.runId).returnValue).to.equal(12);
    const lines = await eventLines(run);
    expect(lines.filter((l) => l === 'run_started'), 'one run_started').to.have.length(1);
    expect(lines.filter((l) => l === 'step_created step_1'), 'one step_created step_1').to.have.length(1);
    // The step the dead worker had started is started again (steps are at least once), attempt 2.
    expect(lines.filter((l) => l === 'step_started step_1')).to.have.length(2);
    expect(lines.filter((l) => l === 'step_completed step_1')).to.have.length(1);
    expect(executions.get(run.runId)).to.deep.equal(['add 10', 'add 11']);
  });

  it('a start hint whose input does not parse: the run is started the usual way, from its run hash', async () => {
    const run = await start(twoSteps, [20]);
    const real = await firstJob(run.runId);
    const job = { id: real.id, timestamp: real.timestamp, data: { runId: run.runId, start: { workflowName: twoSteps.workflowName, input: '{not json' } } } as unknown as Job<ReplayJobData>;
    const { ctx, calls } = context();
    await processReplayJob(ctx, job);
    expect(calls.acquireRun).to.equal(1);
    expect(await getRun(run.runId).returnValue).to.equal(22);
  });

  it('a first job whose run was cancelled before any worker took it: nothing is written', async () => {
    const run = await start(twoSteps, [5]);
    const job = await firstJob(run.runId);
    await run.cancel();
    const before = await store.eventCount(run.runId);
    const { ctx } = context();
    await processReplayJob(ctx, job);
    expect(await getRun(run.runId).status).to.equal('cancelled');
    expect(await store.eventCount(run.runId)).to.equal(before);
    expect(executions.get(run.runId), 'no step ran').to.equal(undefined);
  });
});
