/**
 * Hook timeouts and hooks claimed by start() with real worker processes: a
 * timeout survives a `kill -9` of the worker holding its run (the timer is a
 * delayed job in Redis, fired by another worker), and 100 resumes sent
 * before any worker process exists reach the workflow in order.
 */
import { expect } from 'chai';
import { configure, getHookByToken, resumeHook, start } from 'workflow-redis/api';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { claimedCollect, hookWithTimeout } from './fixtures/hook-workflows.js';
import { processSuite } from './_workers.js';

describe('process: hook timeouts and hooks claimed by start()', function () {
  this.timeout(90_000);
  const suite = processSuite();
  const pool = suite.pool;

  it('kill -9 of the worker while a hook timeout is pending: another worker times the hook out', async () => {
    const prefix = uniquePrefix('hook-to-crash');
    configure({ connection: suite.redis.url, prefix });
    const env = { REDIS_URL: suite.redis.url, PREFIX: prefix, LOCK_MS: 2000, RECONCILE_MS: 0 };
    const victim = await pool.spawn(env);
    const token = `crash-timeout-${Date.now()}`;
    const run = await start(hookWithTimeout, [token, 4000]);
    await waitFor(() => getHookByToken(token), { timeoutMs: 20_000, what: 'the hook to be registered' });
    victim.signal('SIGKILL');
    expect((await victim.exited).signal).to.equal('SIGKILL');
    const rescuer = await pool.spawn(env);
    const out = (await run.returnValue) as { outcome: string; createdBy: number; endedBy: number };
    expect(out).to.deep.equal({ outcome: 'timed out', createdBy: victim.pid, endedBy: rescuer.pid });
    const types = (await run.events()).map((e) => e.type);
    expect(types.filter((t) => t === 'hook_timed_out')).to.have.length(1);
    await resumeHook(token, 'late').then(
      () => expect.fail('resumed after the timeout'),
      (err: Error) => expect(err.name).to.equal('HookNotFoundError'),
    );
  });

  it('start with { hook }: 100 resumes sent right after start() returns, workers started only after, arrive in order', async () => {
    const prefix = uniquePrefix('hook-claim');
    configure({ connection: suite.redis.url, prefix });
    const token = `claimed-${Date.now()}`;
    const run = await start(claimedCollect, [token, 100], { hook: { token } });
    for (let i = 0; i < 100; i++) await resumeHook(token, { i });
    expect(await run.status).to.equal('pending');
    await pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix });
    expect(await run.returnValue).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
  });
});
