/**
 * Inline steps and their commits (lib/worker/replay-job.ts): while nothing
 * outside can append to a run's log, a step's result is fed to the workflow
 * before it is committed and goes in one commit with what the code does next.
 * The workflow clock at a step result is the worker's clock recorded with it
 * (`wc`), so a cold replay sees the same Date.now(). When something did append
 * meanwhile, the strict commit is refused: the results are committed alone and
 * the run is replayed afresh from its log.
 */
import { expect } from 'chai';
import type { Job } from 'bullmq';
import { createHook, defineStep, defineWorkflow, getWorkflowMetadata, sleep } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, getRun, resumeHook, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { getStore } from '../../lib/runtime/config.js';
import { installDeterminism } from '../../lib/replay/determinism.js';
import type { CommitOp, CommitOptions } from '../../lib/redis/store-types.js';
import { compareEventIds } from '../../lib/replay/execution.js';
import { processReplayJob } from '../../lib/worker/replay-job.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { eventLines, stepLines, testReplayContext } from './_util.js';

const N = 'engine-inline';

/** Date.now() right after each step resolved, per execution (key: run id). */
const clocks = new Map<string, number[][]>();
/** Step executions per run. */
const executions = new Map<string, string[]>();

const tick = defineStep(`${N}.tick`, async (i: number) => {
  const runId = getWorkflowMetadata().workflowRunId;
  executions.set(runId, [...(executions.get(runId) ?? []), `tick ${i}`]);
  return i * 10;
});

const clockAfterSteps = defineWorkflow(`${N}.clock`, async (token: string) => {
  const seen: number[] = [];
  clocks.set(getWorkflowMetadata().workflowRunId, [...(clocks.get(getWorkflowMetadata().workflowRunId) ?? []), seen]);
  for (let i = 1; i <= 3; i++) {
    await tick(i);
    seen.push(Date.now());
  }
  await createHook<string>({ token });
  return seen;
});

const threeTicks = defineWorkflow(`${N}.three`, async () => {
  const a = await tick(1);
  const b = await tick(2);
  const c = await tick(3);
  return a + b + c;
});

const afterDueSleep = defineWorkflow(`${N}.due-sleep`, async (token: string) => {
  await sleep(0); // due at once: wait_created and wait_completed go in one commit, which releases the lease
  const a = await tick(7);
  const p = await createHook<string>({ token });
  return [a, p];
});

describe('engine: inline steps fed ahead of their commit', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  const prefix = uniquePrefix('eng-inline');
  const workers: WorkflowWorker[] = [];

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
  });
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
  });
  after(async () => {
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('Date.now() after a step is the clock recorded with its result, the same on a cold replay', async () => {
    const token = `${N}:clock:${Math.random().toString(36).slice(2)}`;
    workers.push(await createWorker({ workflows: [clockAfterSteps], connection: redis.url, prefix, logger: () => undefined }));
    const run = await start(clockAfterSteps, [token]);
    await waitFor(() => getHookByToken(token), { what: 'the run to suspend on its hook' });
    // A worker with no warm execution replays the whole log on the resume.
    await workers.pop()!.close();
    workers.push(await createWorker({ workflows: [clockAfterSteps], connection: redis.url, prefix, cacheSize: 0, logger: () => undefined }));
    await resumeHook(token, 'go');
    const seen = (await run.returnValue) as number[];

    const events = await run.events();
    const completed = events.filter((e) => e.type === 'step_completed');
    expect(completed).to.have.length(3);
    const recorded = await getStore().then((s) => s.readAllEvents(run.runId));
    const wcs = recorded.filter((e) => e.type === 'step_completed').map((e) => e.wc);
    expect(wcs.every((wc) => typeof wc === 'number')).to.equal(true);
    expect(seen).to.deep.equal(wcs);
    const perExecution = clocks.get(run.runId)!;
    expect(perExecution, 'the first execution and the cold replay').to.have.length(2);
    expect(perExecution[1]).to.deep.equal(perExecution[0]);
    expect(executions.get(run.runId), 'each step ran once').to.deep.equal(['tick 1', 'tick 2', 'tick 3']);
    // Feeding ahead changes nothing in the log's order.
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      ...stepLines(3),
      'hook_created hook_1',
      'hook_received hook_1',
      'run_completed',
    ]);
  });

  it('a commit that released the lease and let the code go on (a sleep already due): the next replay commits the rest', async () => {
    const token = `${N}:due:${Math.random().toString(36).slice(2)}`;
    const worker = await createWorker({ workflows: [afterDueSleep], connection: redis.url, prefix, reconcileIntervalMs: 0, logger: () => undefined });
    workers.push(worker);
    const run = await start(afterDueSleep, [token]);
    await waitFor(() => getHookByToken(token), { what: 'the run to suspend on its hook' });
    const store = await getStore();
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      'wait_created wait_1',
      'wait_completed wait_1',
      'step_created step_1',
      'step_started step_1',
      'step_completed step_1',
      'hook_created hook_1',
    ]);
    expect(executions.get(run.runId), 'the step ran once').to.deep.equal(['tick 7']);
    await waitFor(async () => (await store.client.exists(store.keys.runLease(run.runId))) === 0, { what: 'the lease to be released' });
    // Nothing left for the reconciler: the replay recorded that it consumed the whole log.
    const rec = await store.getRun(run.runId);
    expect(rec?.seen).to.equal(await store.lastEventId(run.runId));
    expect((await worker.reconcile()).woken).to.equal(0);
    await resumeHook(token, 'ok');
    expect(await run.returnValue).to.deep.equal([70, 'ok']);
  });

  it('an event appended while results were fed ahead: the results are committed alone and the run replays from its log', async () => {
    installDeterminism();
    const store = await getStore();
    const run = await start(threeTicks, []);
    const stream = store.keys.runEvents(run.runId);
    let stale = 0;
    const ctx = testReplayContext(store, threeTicks, {
      commits: {
        async commit(runId: string, epoch: number | null, ops: CommitOp[], cursor = '', opts: CommitOptions = {}) {
          if (opts.strict && stale === 0) {
            // Something outside appends to the log while step_1's result is fed ahead.
            await store.client.xadd(stream, '*', 'type', 'run_started', 'correlationId', '', 'data', '{"json":{}}', 'createdAt', String(Date.now()));
          }
          try {
            return await store.commit(runId, epoch, ops, cursor, opts);
          } catch (err) {
            if ((err as Error).name === 'StaleCommitError') stale++;
            throw err;
          }
        },
      },
    });
    const job = (id: string) => ({ id, data: { runId: run.runId } }) as unknown as Job<{ runId: string }>;

    await processReplayJob(ctx, job('first'));
    expect(stale, 'the strict commit was refused').to.equal(1);
    expect(await eventLines(run)).to.deep.equal([
      'run_created',
      'run_started',
      'step_created step_1',
      'step_started step_1',
      'run_started',
      'step_completed step_1',
    ]);
    expect(ctx.cache.peek(run.runId), 'the execution that ran ahead is dropped').to.equal(undefined);
    // The run was put back on the queue for a fresh replay.
    const waiting = await store.queues(threeTicks).replays.getJobs(['waiting', 'prioritized', 'delayed']);
    expect(waiting.some((j) => j.data.runId === run.runId)).to.equal(true);

    await processReplayJob(ctx, job('second'));
    expect(await getRun(run.runId).status).to.equal('completed');
    expect(await getRun(run.runId).returnValue).to.equal(60);
    expect(executions.get(run.runId), 'each step ran once').to.deep.equal(['tick 1', 'tick 2', 'tick 3']);
    const lines = await eventLines(run);
    for (const i of [1, 2, 3]) expect(lines.filter((l) => l === `step_completed step_${i}`), `step_${i}`).to.have.length(1);
    expect(await store.client.exists(store.keys.runLease(run.runId)), 'no lease left behind').to.equal(0);
  });
});

describe('stream id order (compareEventIds)', () => {
  it('orders ids by milliseconds, then sequence, as numbers', () => {
    const sorted = ['0-0', '0-1', '1-0', '1-2', '1-10', '9-99', '10-0', '999-5', '1795733276449-0', '1795733276449-12', '1795733276450-0'];
    for (let i = 0; i < sorted.length; i++) {
      for (let j = 0; j < sorted.length; j++) {
        expect(Math.sign(compareEventIds(sorted[i]!, sorted[j]!)), `${sorted[i]} vs ${sorted[j]}`).to.equal(Math.sign(i - j));
      }
    }
  });
});
