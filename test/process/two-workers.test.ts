/**
 * Two worker processes, one Redis: 100 runs of a 3-step workflow started from
 * this process all complete, each step result is recorded exactly once, and
 * the work is spread over both processes (ARCHITECTURE §7.4, horizontal scaling).
 */
import { expect } from 'chai';
import { configure, start, type Run } from 'workflow-redis/api';
import { uniquePrefix } from '../helpers/redis.js';
import { threeSteps } from './fixtures/workflows.js';
import { groupBy, readStepLog, processSuite } from './_workers.js';

describe('process: two worker processes', function () {
  this.timeout(90_000);
  const suite = processSuite();
  const pool = suite.pool;

  it('completes 100 runs over both workers, every step recorded exactly once', async () => {
    const prefix = uniquePrefix('two');
    configure({ connection: suite.redis.url, prefix });
    const [w1, w2] = await Promise.all([
      pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 10 }),
      pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 10 }),
    ]);

    const N = 100;
    const runs: Run<{ i: number; pids: number[] }>[] = await Promise.all(Array.from({ length: N }, (_, i) => start(threeSteps, [i])));
    const values = await Promise.all(runs.map((r) => r.returnValue));
    values.forEach((v, i) => expect(v.i).to.equal(i));

    // The log: exactly one step_completed per step, three per run.
    for (const run of runs) {
      const events = await run.events();
      const completed = groupBy(events.filter((e) => e.type === 'step_completed'), (e) => e.correlationId);
      expect([...completed.keys()].sort(), run.runId).to.deep.equal(['step_1', 'step_2', 'step_3']);
      for (const [id, list] of completed) expect(list, `${run.runId} ${id}`).to.have.length(1);
      expect(events.filter((e) => e.type === 'run_completed'), run.runId).to.have.length(1);
    }

    // The step log: each step of each run executed once (no crash, no stall), by one of the two workers.
    const ends = (await readStepLog(suite.probe, prefix)).filter((r) => r.phase === 'end');
    const byStep = groupBy(ends, (r) => r.stepId);
    expect(byStep.size).to.equal(3 * N);
    for (const [stepId, list] of byStep) expect(list, stepId).to.have.length(1);
    const pids = new Set(ends.map((r) => r.pid));
    expect([...pids].sort()).to.deep.equal([w1!.pid, w2!.pid].sort());
    const perPid = [w1!.pid, w2!.pid].map((pid) => ends.filter((r) => r.pid === pid).length);
    // Both did a real share of the work, not a token step.
    for (const n of perPid) expect(n, `steps per worker ${perPid.join('/')}`).to.be.greaterThan(3 * N * 0.1);
  });
});
