/**
 * Without Redis (issue 10): the runtime API and createWorker() fail within a
 * few seconds with one clear message naming the address (never the
 * password) and what to check — against a port where nothing listens and a
 * port that accepts connections and closes them. The API stays usable: the
 * next call connects again; a waiting worker starts once Redis is there.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { defineWorkflow } from 'workflow-redis';
import { checkRedis, closeWorkflowClient, configure, getRun, listRuns, RedisUnavailableError, resumeHook, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { freePort, startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { expectRejection } from '../engine/_util.js';

const hello = defineWorkflow('foundation-fail-fast.hello', async (name: string) => `hello ${name}`);

interface Line {
  level: string;
  msg: string;
  fields?: Record<string, unknown>;
}

/** A server that accepts each connection and closes it at once (not Redis). */
async function hangUpServer(): Promise<{ port: number; server: Server }> {
  const server = createServer((sock) => sock.destroy());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { port: (server.address() as { port: number }).port, server };
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; result: T }> {
  const t0 = Date.now();
  const result = await p;
  return { ms: Date.now() - t0, result };
}

describe('foundation: fail fast without Redis', function () {
  this.timeout(30_000);
  let hangUp: { port: number; server: Server };
  const started: TestRedis[] = [];
  const workers: WorkflowWorker[] = [];
  let lines: Line[];
  const logger = (level: string, msg: string, fields?: Record<string, unknown>) => lines.push({ level, msg, fields });

  before(async () => {
    hangUp = await hangUpServer();
  });
  beforeEach(() => {
    lines = [];
  });
  afterEach(async () => {
    await Promise.all(workers.splice(0).map((w) => w.close()));
    await closeWorkflowClient();
  });
  after(async () => {
    await new Promise<void>((resolve) => hangUp.server.close(() => resolve()));
    for (const r of started) await r.stop();
  });

  const targets = [
    { what: 'nothing listens', url: async () => `redis://app:s3cret@127.0.0.1:${await freePort()}`, reason: /ECONNREFUSED/ },
    { what: 'the server hangs up', url: async () => `redis://app:s3cret@127.0.0.1:${hangUp.port}`, reason: /closed the connection/ },
  ];

  for (const t of targets) {
    it(`the runtime API (${t.what}): RedisUnavailableError within 5 s, one log line, no password`, async () => {
      const url = await t.url();
      const port = new URL(url).port;
      configure({ connection: url, prefix: uniquePrefix('ff'), logger });
      const { ms, result: err } = await timed(expectRejection<RedisUnavailableError>(listRuns(), 'RedisUnavailableError'));
      expect(ms).to.be.below(5000);
      expect(err).to.be.instanceOf(RedisUnavailableError);
      expect(err.address).to.equal(`127.0.0.1:${port}`);
      expect(err.reason).to.match(t.reason);
      expect(err.message).to.include(`Cannot connect to Redis at 127.0.0.1:${port}`).and.include('Is Redis running').and.include('REDIS_URL');
      // Every entry point rejects the same way (together: they share the next attempt to connect).
      await Promise.all([
        expectRejection(start(hello, ['x']), 'RedisUnavailableError'),
        expectRejection(resumeHook('some-token', { a: 1 }), 'RedisUnavailableError'),
        expectRejection(getRun('wrun_x').status, 'RedisUnavailableError'),
      ]);

      expect(lines, JSON.stringify(lines)).to.have.length(1);
      expect(lines[0]!.level).to.equal('error');
      expect(lines[0]!.msg).to.include(`Cannot connect to Redis at 127.0.0.1:${port}`).and.include('REDIS_URL');
      expect(lines[0]!.fields).to.include({ address: `127.0.0.1:${port}` });
      expect(JSON.stringify(lines) + err.message).not.to.include('s3cret');
    });
  }

  it('the runtime API is not left broken: once Redis is there, the next call works (and the log says so)', async () => {
    const port = await freePort();
    configure({ connection: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('ff'), logger, connectTimeoutMs: 500 });
    const { ms } = await timed(expectRejection(listRuns(), 'RedisUnavailableError'));
    expect(ms).to.be.below(2000); // connectTimeoutMs
    started.push(await startRedis({ port }));
    const page = await listRuns();
    expect(page.data).to.deep.equal([]);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).to.have.length(2);
    expect(`${lines[0]!.level} ${lines[0]!.msg}`).to.include(`error workflow-redis: Cannot connect to Redis at 127.0.0.1:${port}`);
    expect(`${lines[1]!.level} ${lines[1]!.msg}`).to.equal('warn workflow-redis: Redis available again');
  });

  it('createWorker() with waitForRedis: false rejects with RedisUnavailableError within 5 s', async () => {
    for (const t of targets) {
      const url = await t.url();
      const { ms, result: err } = await timed(
        expectRejection<RedisUnavailableError>(createWorker({ workflows: [hello], connection: url, waitForRedis: false, logger }), 'RedisUnavailableError'),
      );
      expect(ms).to.be.below(5000);
      expect(err.reason).to.match(t.reason);
      expect(err.message).not.to.include('s3cret');
    }
  });

  it('createWorker() logs one clear line within 5 s, retries quietly, and starts once Redis is there', async () => {
    const port = await freePort();
    const t0 = Date.now();
    let done = false;
    const pending = createWorker({ workflows: [hello], connection: `redis://127.0.0.1:${port}`, prefix: uniquePrefix('ff'), logger, reconcileIntervalMs: 0 });
    void pending.then(() => (done = true), () => (done = true));
    await waitFor(() => lines.length > 0, { timeoutMs: 5000, what: 'the unreachable line' });
    expect(Date.now() - t0).to.be.below(5000);
    expect(lines[0]!.level).to.equal('error');
    expect(lines[0]!.msg).to.include(`worker: Cannot connect to Redis at 127.0.0.1:${port}`).and.include('Retrying quietly');
    expect(done, 'still waiting for Redis').to.equal(false);

    started.push(await startRedis({ port }));
    const worker = await pending;
    workers.push(worker);
    expect(lines.map((l) => l.msg)).to.have.length(2);
    expect(lines[1]!.msg).to.equal('worker: Redis available again');

    configure({ connection: `redis://127.0.0.1:${port}`, prefix: worker.store.keys.prefix });
    const run = await start(hello, ['again']);
    expect(await run.returnValue).to.equal('hello again');
  });

  it('checkRedis(): resolves against a Redis, rejects at once with RedisUnavailableError otherwise', async () => {
    for (const t of targets) {
      const { ms, result: err } = await timed(expectRejection<RedisUnavailableError>(checkRedis(await t.url()), 'RedisUnavailableError'));
      expect(ms).to.be.below(2000);
      expect(err.reason).to.match(t.reason);
    }
    const redis = await startRedis();
    started.push(redis);
    await checkRedis(redis.url, { timeoutMs: 2000 });
  });

  it('rejects a bad connectTimeoutMs, logger or logLevel with InvalidArgumentError', async () => {
    expect(() => configure({ connectTimeoutMs: 0 })).to.throw(/connectTimeoutMs must be an integer/);
    expect(() => configure({ logLevel: 'verbose' as never })).to.throw(/logLevel must be one of 'debug', 'info', 'warn', 'error', 'silent'/);
    expect(() => configure({ logger: {} as never })).to.throw(/logger must be a function .* or a logger object/);
    await expectRejection(createWorker({ workflows: [hello], connectTimeoutMs: -1 }), 'InvalidArgumentError');
    await expectRejection(createWorker({ workflows: [hello], logLevel: 'loud' as never }), 'InvalidArgumentError');
    await expectRejection(createWorker({ workflows: [hello], waitForRedis: 'yes' as never }), 'InvalidArgumentError');
    configure({});
  });
});
