/**
 * Crash safety (ARCHITECTURE §7.5): `kill -9` of a worker process while 50 runs are
 * in the middle of a step. A second worker process picks the runs up once
 * the dead worker's locks and leases expire and completes all of them; steps
 * ran at least once, and every step result is in the log exactly once.
 */
import { expect } from 'chai';
import { configure, start, type Run } from 'workflow-redis/api';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { threeSteps } from './fixtures/workflows.js';
import { groupBy, readStepLog, processSuite } from './_workers.js';

describe('process: kill -9 of a worker mid-step', function () {
  this.timeout(90_000);
  const suite = processSuite();
  const pool = suite.pool;

  it('another worker completes all 50 runs; no step result recorded twice', async () => {
    const prefix = uniquePrefix('crash');
    configure({ connection: suite.redis.url, prefix });
    const LOCK_MS = 2000;
    const victim = await pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 64, LOCK_MS, RECONCILE_MS: 0 });

    // step.b blocks 30 s on its first attempt: far longer than the test, so every run is caught mid-step.
    const N = 50;
    const runs: Run<{ i: number; pids: number[]; attempts: number[] }>[] = await Promise.all(
      Array.from({ length: N }, (_, i) => start(threeSteps, [i, 30_000])),
    );
    const midStep = async () => {
      const evs = await Promise.all(runs.map((r) => r.events()));
      return evs.filter((es) => es.some((e) => e.type === 'step_started' && e.correlationId === 'step_2')).length;
    };
    await waitFor(async () => (await midStep()) === N, { timeoutMs: 30_000, what: `${N} runs to start step_2` });
    // step_started is committed before the step function runs and logs its start: wait for the log too.
    const victimStarts = async () => (await readStepLog(suite.probe, prefix)).filter((r) => r.step === 'step.b' && r.phase === 'start' && r.pid === victim.pid);
    await waitFor(async () => (await victimStarts()).length >= N, { timeoutMs: 30_000, what: `${N} step.b executions to begin on the victim` });
    const before = await readStepLog(suite.probe, prefix);
    expect(await victimStarts()).to.have.length(N);
    expect(before.filter((r) => r.step === 'step.b' && r.phase === 'end')).to.have.length(0);

    victim.signal('SIGKILL');
    const exit = await victim.exited;
    expect(exit.signal).to.equal('SIGKILL');

    const rescuer = await pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 64, LOCK_MS, RECONCILE_MS: 0 });
    const values = await Promise.all(runs.map((r) => r.returnValue));
    values.forEach((v, i) => {
      expect(v.i).to.equal(i);
      expect(v.pids[0], `run ${i}: step.a ran on the victim`).to.equal(victim.pid);
      expect(v.pids[1], `run ${i}: step.b finished on the rescuer`).to.equal(rescuer.pid);
      expect(v.attempts[1], `run ${i}: step.b needed a second attempt`).to.equal(2);
    });

    for (const run of runs) {
      const events = await run.events();
      const completed = groupBy(events.filter((e) => e.type === 'step_completed'), (e) => e.correlationId);
      expect([...completed.keys()].sort(), run.runId).to.deep.equal(['step_1', 'step_2', 'step_3']);
      for (const [id, list] of completed) expect(list, `${run.runId} ${id} step_completed`).to.have.length(1);
      expect(events.filter((e) => e.type === 'run_completed'), run.runId).to.have.length(1);
      // step_2 was started by the victim, then again by the rescuer.
      expect(events.filter((e) => e.type === 'step_started' && e.correlationId === 'step_2').length, run.runId).to.equal(2);
    }

    // Steps ran at least once: every step of every run has a finished execution.
    const log = await readStepLog(suite.probe, prefix);
    const ends = groupBy(log.filter((r) => r.phase === 'end'), (r) => r.stepId);
    expect(ends.size).to.equal(3 * N);
    for (const [stepId, list] of ends) expect(list.length, stepId).to.be.at.least(1);
  });

  it("with the other worker already running: the killed worker's runs complete there, the rest are undisturbed", async () => {
    const prefix = uniquePrefix('crash2');
    configure({ connection: suite.redis.url, prefix });
    const LOCK_MS = 2000;
    const env = { REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 64, LOCK_MS, RECONCILE_MS: 0 };
    const [victim, survivor] = await Promise.all([pool.spawn(env), pool.spawn(env)]);

    // step.b blocks 1.5 s on its first attempt.
    const N = 50;
    const runs: Run<{ i: number; pids: number[]; attempts: number[] }>[] = await Promise.all(
      Array.from({ length: N }, (_, i) => start(threeSteps, [i, 1500])),
    );
    // Kill as soon as the victim is in the middle of some step.b.
    const victimMidStep = await waitFor(
      async () => {
        const log = await readStepLog(suite.probe, prefix);
        const started = log.filter((r) => r.step === 'step.b' && r.phase === 'start' && r.pid === victim.pid).map((r) => r.runId);
        const ended = new Set(log.filter((r) => r.step === 'step.b' && r.phase === 'end').map((r) => r.runId));
        const mid = started.filter((id) => !ended.has(id));
        return mid.length >= 5 ? mid : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 10, what: 'the victim to be mid-step in 5 runs' },
    );
    victim.signal('SIGKILL');
    await victim.exited;

    const values = await Promise.all(runs.map((r) => r.returnValue));
    values.forEach((v, i) => expect(v.i).to.equal(i));
    const byId = new Map(runs.map((r, i) => [r.runId, values[i]!]));
    for (const runId of victimMidStep!) {
      expect(byId.get(runId)!.pids[1], `${runId}: step.b finished on the survivor`).to.equal(survivor.pid);
    }
    for (const run of runs) {
      const events = await run.events();
      const completed = groupBy(events.filter((e) => e.type === 'step_completed'), (e) => e.correlationId);
      expect([...completed.keys()].sort(), run.runId).to.deep.equal(['step_1', 'step_2', 'step_3']);
      for (const [id, list] of completed) expect(list, `${run.runId} ${id} step_completed`).to.have.length(1);
    }
    const ends = groupBy((await readStepLog(suite.probe, prefix)).filter((r) => r.phase === 'end'), (r) => r.stepId);
    expect(ends.size).to.equal(3 * N);
  });
});
