/**
 * registerSerializableClass across processes (issue 16): a Money passed to
 * start() in this process (the API side) reaches a step in a worker process
 * as a Money, comes back from it as one, and is part of the run's output,
 * which `returnValue` reads back as a Money. A process that did not register
 * the class never reads a plain object in its place: the API side's
 * `returnValue` rejects with UnregisteredClassError naming the id, and a
 * worker does not run the workflow (its job fails with that error; a worker
 * that registered the class then completes the run).
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { closeWorkflowClient, configure, start, UnregisteredClassError } from 'workflow-redis/api';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { Children } from './_processes.js';
import { Money, MONEY_ID, registerMoney } from './fixtures/money.js';
import { checkout } from './fixtures/money-workflows.js';

registerMoney();

interface ReadResult {
  ok: boolean;
  isMoney?: boolean;
  formatted?: string;
  name?: string;
  classId?: string;
  message?: string;
}

describe('serialization: a registered class across processes', function () {
  this.timeout(90_000);
  const children = new Children();
  let redis: TestRedis;
  let probe: Redis;

  before(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  after(async () => {
    await children.killAll();
    await closeWorkflowClient();
    probe?.disconnect();
    await redis?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(children.dump());
  });

  it('start() argument → a step in a worker process → the run output → returnValue, a Money all the way; an API process without the registration gets UnregisteredClassError', async () => {
    const prefix = uniquePrefix('ser');
    configure({ connection: redis.url, prefix });
    const worker = await children.worker('money-worker.ts', { REDIS_URL: redis.url, PREFIX: prefix, REGISTER_MONEY: '1' });

    const run = await start(checkout, [new Money(1999n, 'EUR')]);
    const out = await run.returnValue;
    // The step ran in the worker process, got a Money (it fails its run otherwise) and called a method on it.
    expect(out.stepPid).to.equal(worker.pid);
    expect(out.total).to.be.instanceOf(Money);
    expect(out.total).to.deep.equal(new Money(2399n, 'EUR'));
    expect(out.total.format()).to.equal('23.99 EUR');
    expect(out.formatted).to.equal('23.99 EUR');
    expect(out.amount).to.be.instanceOf(Money);
    expect(out.amount.cents).to.equal(1999n);
    const [input] = (await run.info()).input as [Money];
    expect(input).to.be.instanceOf(Money);

    // Another API-side process reads the same output: with the registration it gets a Money...
    const env = { REDIS_URL: redis.url, PREFIX: prefix, RUN_ID: run.runId };
    const registered = await children.once<ReadResult>('read-run.ts', { ...env, REGISTER_MONEY: '1' });
    expect(registered).to.deep.equal({ ok: true, isMoney: true, formatted: '23.99 EUR' });
    // ...without it, the typed error naming the id, and how to fix it.
    const unregistered = await children.once<ReadResult>('read-run.ts', env);
    expect(unregistered.ok).to.equal(false);
    expect(unregistered.name).to.equal(UnregisteredClassError.name);
    expect(unregistered.classId).to.equal(MONEY_ID);
    expect(unregistered.message).to.include(`"${MONEY_ID}"`).and.to.include('registerSerializableClass(');
  });

  it('a worker without the registration does not run the workflow (its job fails with UnregisteredClassError); a worker with it then completes the run', async () => {
    const prefix = uniquePrefix('ser');
    configure({ connection: redis.url, prefix });
    const bare = await children.worker('money-worker.ts', { REDIS_URL: redis.url, PREFIX: prefix });

    const run = await start(checkout, [new Money(500n, 'USD')]);
    // The worker logs the failed job with the typed error's message (the job is retried with backoff).
    await waitFor(() => bare.output().includes(`no class is registered as \\"${MONEY_ID}\\"`), {
      timeoutMs: 30_000,
      what: 'the worker to log UnregisteredClassError',
    });
    await children.kill(bare);
    // Nothing ran with a plain object in the Money's place: no step was created, the run did not end.
    const types = (await run.events()).map((e) => e.type);
    for (const t of ['step_created', 'run_completed', 'run_failed'] as const) expect(types).to.not.include(t);
    expect(await run.status).to.be.oneOf(['pending', 'running']);

    const fixed = await children.worker('money-worker.ts', { REDIS_URL: redis.url, PREFIX: prefix, REGISTER_MONEY: '1' });
    const out = await run.returnValue;
    expect(out.stepPid).to.equal(fixed.pid);
    expect(out.total).to.be.instanceOf(Money);
    expect(out.total.format()).to.equal('6.00 USD');
  });
});
