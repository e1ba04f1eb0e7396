/**
 * A Redis outage in a worker's log: one line when it starts and one when it
 * ends, every line through the worker's logger (JSON on stderr by default) —
 * not a line, or a BullMQ stack trace on the console, per reconnect attempt.
 * While Redis is down, a listener on its port counts the reconnect attempts
 * (accepting and closing each one), so the test knows the worker has retried
 * many times before Redis comes back.
 */
import { expect } from 'chai';
import { createServer, type Server } from 'node:net';
import { closeWorkflowClient, configure, listRuns } from 'workflow-redis/api';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { WorkerPool } from './_workers.js';

/** Listens on `port` once it is free, counting (and closing) each connection attempt. */
async function countAttempts(port: number): Promise<{ readonly attempts: number; close(): Promise<void> }> {
  let attempts = 0;
  const srv = await waitFor(
    () =>
      new Promise<Server | undefined>((resolve) => {
        const s = createServer((sock) => {
          attempts++;
          sock.destroy();
        });
        s.once('error', () => resolve(undefined)); // the port is not free yet
        s.listen(port, '127.0.0.1', () => resolve(s));
      }),
    { timeoutMs: 20_000, intervalMs: 50, what: `port ${port} to be free` },
  );
  return {
    get attempts() {
      return attempts;
    },
    close: () => new Promise<void>((resolve) => srv!.close(() => resolve())),
  };
}

describe('process: a Redis outage is one episode in the worker log', function () {
  this.timeout(90_000);
  let redis: TestRedis | undefined;
  const pool = new WorkerPool();
  after(async () => {
    await pool.killAll();
    await closeWorkflowClient();
    await redis?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(pool.dump());
  });

  it('logs the outage once, its end once, and nothing outside the logger', async () => {
    redis = await startRedis();
    const { port } = redis;
    const worker = await pool.spawn({ REDIS_URL: redis.url, PREFIX: uniquePrefix('outage'), RECONCILE_MS: 0, STEP_LOG: '0' });
    const stderrLines = () => worker.stderr().split('\n').filter((l) => l.trim() !== '');
    expect(stderrLines(), 'a quiet start').to.deep.equal([]);

    redis.kill();
    await redis.stop(); // gone already: removes its data directory
    const fake = await countAttempts(port);
    await waitFor(() => fake.attempts >= 8, { timeoutMs: 45_000, what: 'the worker to retry several times' });
    const attempts = fake.attempts;
    await fake.close();
    redis = await waitFor(() => startRedis({ port }).catch(() => undefined), { timeoutMs: 20_000, intervalMs: 100, what: 'redis-server to restart' });
    await waitFor(() => stderrLines().some((l) => l.includes('Redis available again')), { timeoutMs: 30_000, what: 'the end of the outage in the log' });

    const lines = stderrLines();
    const parsed = lines.map((l) => {
      try {
        return JSON.parse(l) as { level: string; msg: string; errors?: number };
      } catch {
        throw new Error(`a line on stderr bypassed the logger: ${l}`);
      }
    });
    const starts = parsed.filter((p) => p.msg.includes('Redis unavailable'));
    const ends = parsed.filter((p) => p.msg.includes('Redis available again'));
    expect(starts, 'one line for the start').to.have.length(1);
    expect(ends, 'one line for the end').to.have.length(1);
    expect(ends[0]!.errors, 'the errors the outage raised, counted, not logged').to.be.at.least(attempts);
    expect(parsed.length, `only the outage's lines: ${lines.join('\n')}`).to.equal(2);
  });

  it('the runtime API logs an outage through configure({ logger }), once at its start and once at its end', async () => {
    const { port } = redis!;
    const lines: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
    configure({ connection: redis!.url, prefix: uniquePrefix('outage-api'), logger: (level, msg, fields) => lines.push({ level, msg, fields }) });
    await listRuns();
    redis!.kill();
    await redis!.stop();
    const fake = await countAttempts(port);
    await waitFor(() => fake.attempts >= 8, { timeoutMs: 45_000, what: 'the client to retry several times' });
    await fake.close();
    redis = await waitFor(() => startRedis({ port }).catch(() => undefined), { timeoutMs: 20_000, intervalMs: 100, what: 'redis-server to restart' });
    await waitFor(() => listRuns().then(() => true, () => false), { timeoutMs: 30_000, what: 'the client to reconnect' });
    await waitFor(() => lines.some((l) => l.msg.includes('Redis available again')), { timeoutMs: 30_000, what: 'the end of the outage in the log' }).catch(
      (err: Error) => {
        throw new Error(`${err.message}; the log so far: ${JSON.stringify(lines.map((l) => `${l.level} ${l.msg}`))}`);
      },
    );
    expect(lines.map((l) => `${l.level} ${l.msg}`)).to.deep.equal([
      'error workflow-redis: Redis unavailable (retrying; one line per minute until it is back)',
      'warn workflow-redis: Redis available again',
    ]);
  });
});
