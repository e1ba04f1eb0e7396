/**
 * Runs of many calls: the replay keeps looking only at the calls that are
 * still open (lib/replay/execution.ts), so a hook created first stays live
 * while hundreds of steps and sleeps after it settle, and still gets its
 * payload.
 */
import { expect } from 'chai';
import { createHook, defineStep, defineWorkflow, sleep } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { eventLines, resumeWhenReady } from './_util.js';

const N = 'engine-long';

const inc = defineStep(`${N}.inc`, async (i: number) => i + 1);

const longWithHook = defineWorkflow(`${N}.hook`, async (token: string, n: number) => {
  const hook = createHook<string>({ token });
  let sum = 0;
  for (let i = 1; i <= n; i++) {
    sum += await inc(i);
    if (i % 50 === 0) await sleep(1);
  }
  return [sum, await hook];
});

describe('engine: long runs', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const prefix = uniquePrefix('eng-long');

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [longWithHook], connection: redis.url, prefix, logger: () => undefined });
  });
  after(async () => {
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('a hook created first stays live through 200 steps and 4 sleeps, and delivers its payload', async () => {
    const n = 200;
    const token = `${N}:${Math.random().toString(36).slice(2)}`;
    const run = await start(longWithHook, [token, n]);
    await resumeWhenReady(token, 'done');
    expect(await run.returnValue).to.deep.equal([(n * (n + 1)) / 2 + n, 'done']);
    const lines = await eventLines(run);
    expect(lines.filter((l) => l.startsWith('step_completed'))).to.have.length(n);
    expect(lines.filter((l) => l.startsWith('wait_completed'))).to.have.length(n / 50);
    expect(lines.filter((l) => l === 'hook_received hook_1')).to.have.length(1);
  });
});
