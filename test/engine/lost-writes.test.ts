/**
 * Lost writes during a replay (ARCHITECTURE §7.10): Redis takes a run's keys back in
 * time while a worker is in the middle of replaying it, at the same epoch (the
 * loss happened after the replay took the run). The replay's next commit names
 * a cursor the log no longer has: it is refused (EventLogRewoundError), the
 * worker drops its execution and replays the run from the log as it is now.
 * The keys are taken back with DUMP / RESTORE from inside the steps, which
 * puts the loss at an exact point of the replay.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { defineStep, defineWorkflow, getWorkflowMetadata } from 'workflow-redis';
import { closeWorkflowClient, configure, getRun, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { createKeyspace, type Keyspace } from '../../lib/redis/keys.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';

const N = 'engine-lost';
let admin: Redis;
let keys: Keyspace;
const saved = new Map<string, Map<string, Buffer | null>>();
const rewound = new Set<string>();
const attempts = new Map<string, number>();

const runKeys = (runId: string) => [keys.run(runId), keys.runEvents(runId), keys.runSteps(runId)];
const count = (name: string) => attempts.set(name, (attempts.get(name) ?? 0) + 1);

/** Saves the run's keys (once): the log then ends with this step's start. */
const snapshot = defineStep(`${N}.snapshot`, async () => {
  count('snapshot');
  const { workflowRunId } = getWorkflowMetadata();
  if (!saved.has(workflowRunId)) {
    const dumps = new Map<string, Buffer | null>();
    for (const key of runKeys(workflowRunId)) dumps.set(key, await admin.dumpBuffer(key));
    saved.set(workflowRunId, dumps);
  }
  return 'a';
});

/** Puts the saved keys back (once): the log loses the first result and this step's start. */
const rewind = defineStep(`${N}.rewind`, async () => {
  count('rewind');
  const { workflowRunId } = getWorkflowMetadata();
  if (!rewound.has(workflowRunId)) {
    rewound.add(workflowRunId);
    for (const [key, dump] of saved.get(workflowRunId)!) {
      if (dump) await admin.restore(key, 0, dump, 'REPLACE');
      else await admin.del(key);
    }
  }
  return 'b';
});

const finish = defineStep(`${N}.finish`, async () => {
  count('finish');
  return 'c';
});

const lossy = defineWorkflow(`${N}.lossy`, async () => {
  const a = await snapshot();
  const b = await rewind();
  const c = await finish();
  return [a, b, c];
});

describe('engine: a replay whose log loses events it consumed', function () {
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    const prefix = uniquePrefix('lost');
    keys = createKeyspace(prefix);
    configure({ connection: redis.url, prefix });
    // commitWindowMs 0: each step's start is committed before it runs, so the replay's cursor moves with every step.
    worker = await createWorker({
      workflows: [lossy],
      connection: redis.url,
      prefix,
      commitWindowMs: 0,
      reconcileIntervalMs: 0,
      logger: (level, msg, fields) => lines.push({ level, msg, fields }),
    });
  });
  after(async () => {
    await worker?.close();
    await closeWorkflowClient();
    admin?.disconnect();
    await redis?.stop();
  });

  it('is refused at its next commit, replayed from the log, and completes with each result recorded once', async () => {
    const run = await start(lossy, []);
    expect(await run.returnValue).to.deep.equal(['a', 'b', 'c']);
    expect(rewound.has(run.runId), 'the loss happened').to.equal(true);

    const events = await getRun(run.runId).events();
    for (const type of ['step_created', 'step_completed'] as const) {
      const ids = events.filter((e) => e.type === type).map((e) => e.correlationId);
      expect(ids, `each ${type} once, in call order`).to.deep.equal(['step_1', 'step_2', 'step_3']);
    }
    expect(events.filter((e) => e.type === 'run_completed')).to.have.length(1);
    // The lost result of the first step is why it ran again; the last step ran once.
    expect(attempts.get('snapshot')).to.equal(2);
    expect(attempts.get('rewind')).to.equal(2);
    expect(attempts.get('finish')).to.equal(1);
    const warned = lines.filter((l) => l.msg.includes('lost events'));
    expect(warned, 'the worker said why it replayed').to.have.length(1);
    expect(warned[0]!.fields).to.deep.equal({ runId: run.runId });
    await waitFor(async () => (await admin.exists(keys.runLease(run.runId))) === 0, { what: 'the lease to be released' });
  });
});
