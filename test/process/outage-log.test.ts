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
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { WorkerPool } from './_workers.js';

describe('process: a Redis outage is one episode in the worker log', function () {
  this.timeout(90_000);
  let redis: TestRedis | undefined;
  let fake: Server | undefined;
  const pool = new WorkerPool();
  after(async () => {
    await pool.killAll();
    fake?.close();
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
    let attempts = 0;
    await waitFor(
      () =>
        new Promise<boolean>((resolve) => {
          const srv = createServer((sock) => {
            attempts++;
            sock.destroy();
          });
          srv.once('error', () => resolve(false)); // the port is not free yet
          srv.listen(port, '127.0.0.1', () => {
            fake = srv;
            resolve(true);
          });
        }),
      { timeoutMs: 20_000, intervalMs: 50, what: 'the port of the killed redis-server' },
    );
    await waitFor(() => attempts >= 8, { timeoutMs: 45_000, what: 'the worker to retry several times' });
    await new Promise<void>((resolve) => fake!.close(() => resolve()));
    fake = undefined;
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
});
