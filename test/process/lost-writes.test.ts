/**
 * Lost acknowledged writes (ARCHITECTURE §7.10, issue 9): Redis comes back older than
 * what a worker has already seen — a failover to a replica behind its master,
 * a restart from an older snapshot or an `everysec` AOF. The faithful case:
 * the snapshot is taken while the runs are inside a step (their replay holds
 * the run at epoch E, the step's result and the next hook are not recorded),
 * the runs then reach their next hook (the worker keeps them warm at epoch E),
 * and Redis restarts from the snapshot. The restored runs are at the epoch the
 * warm executions expect, while the events those consumed are gone. Every run
 * must still complete — with no worker restarted, each step result recorded
 * once — once its second hook is resumed.
 */
import { expect } from 'chai';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { closeWorkflowClient, configure, getHookByToken, getRun, resumeHook, start, type Run } from 'workflow-redis/api';
import { createKeyspace } from '../../lib/redis/keys.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { hookStepHook } from './fixtures/workflows.js';
import { readStepLog, WorkerPool } from './_workers.js';

const RUNS = 60;
/** step.b's first attempt blocks this long: the snapshot is taken inside it. */
const STEP_MS = 1500;
const MARKER = 'LOSTWRITES-PAYLOAD-MARKER';

describe('process: Redis loses acknowledged writes a warm worker has seen (restart from an older snapshot)', function () {
  this.timeout(120_000);
  let dir: string;
  let redis: TestRedis | undefined;
  /** The steps log into their own Redis, which keeps what the restore takes back. */
  let stepRedis: TestRedis | undefined;
  let probe: Redis | undefined;
  let stepProbe: Redis | undefined;
  const pool = new WorkerPool();

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wfr-lost-'));
    stepRedis = await startRedis();
  });
  after(async () => {
    await pool.killAll();
    await closeWorkflowClient();
    probe?.disconnect();
    stepProbe?.disconnect();
    await redis?.stop();
    await stepRedis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(pool.dump());
  });

  it('every run completes on the same worker process, each step result recorded once', async () => {
    redis = await startRedis({ dir });
    const { url, port } = redis;
    const prefix = uniquePrefix('lost');
    const keys = createKeyspace(prefix);
    configure({ connection: url, prefix });
    probe = new Redis(url, { maxRetriesPerRequest: null });
    probe.on('error', () => undefined);
    stepProbe = new Redis(stepRedis!.url);
    const worker = await pool.spawn({
      REDIS_URL: url,
      REDIS_URL_FOR_STEPS: stepRedis!.url,
      PREFIX: prefix,
      CONCURRENCY: 100,
      LOCK_MS: 2000,
      RECONCILE_MS: 1000,
    });

    const tokens = Array.from({ length: RUNS }, (_, i) => `lost:${prefix}:${i}`);
    const runs: Run[] = await Promise.all(tokens.map((t) => start(hookStepHook, [t, STEP_MS])));
    await waitFor(async () => (await Promise.all(tokens.map((t) => getHookByToken(`${t}:1`).then(() => 1, () => 0)))).every(Boolean), {
      timeoutMs: 30_000,
      what: 'every first hook',
    });
    await Promise.all(tokens.map((t, i) => resumeHook(`${t}:1`, { n: i, marker: MARKER })));

    // Inside step.b everywhere: its first attempt started and has not ended.
    const inStep = async () => {
      const log = await readStepLog(stepProbe!, prefix);
      const started = new Set(log.filter((r) => r.step === 'step.b' && r.phase === 'start').map((r) => r.runId));
      return started.size === RUNS && !log.some((r) => r.step === 'step.b' && r.phase === 'end');
    };
    await waitFor(inStep, { timeoutMs: 30_000, what: 'every run to be inside step.b' });
    expect(await probe.save()).to.equal('OK');
    expect(await inStep(), 'the snapshot was taken inside the step').to.equal(true);

    // The runs go on to their second hook and suspend there: the worker keeps them warm.
    await waitFor(async () => (await Promise.all(tokens.map((t) => getHookByToken(`${t}:2`).then(() => 1, () => 0)))).every(Boolean), {
      timeoutMs: 30_000,
      what: 'every second hook',
    });
    await waitFor(async () => (await probe!.llen(`${keys.bullPrefix}:workflows:active`)) === 0, { what: 'the replays to finish' });
    const before = await Promise.all(runs.map((r) => r.events()));

    redis.kill();
    await waitFor(
      async () => {
        try {
          redis = await startRedis({ dir, port });
          return true;
        } catch {
          return false; // the port is not free yet
        }
      },
      { timeoutMs: 20_000, intervalMs: 100, what: 'redis-server to restart on the same port from the snapshot' },
    );

    // The restore took back step.b's result and the second hook of every run.
    await waitFor(() => probe!.ping().then((p) => p === 'PONG'), { timeoutMs: 20_000, what: 'the probe to reconnect' });
    const restored = await Promise.all(runs.map((r) => r.events()));
    for (let i = 0; i < RUNS; i++) {
      expect(restored[i]!.length, `run ${i} lost events`).to.be.below(before[i]!.length);
      expect(restored[i]!.filter((e) => e.type === 'hook_created'), `run ${i}: only the first hook survived`).to.have.length(1);
      expect(restored[i]!.filter((e) => e.type === 'step_completed'), `run ${i}: step.b's result is gone`).to.have.length(0);
    }

    // Resume each run's second hook as a client would: retry while the hook is not (yet again) there.
    await Promise.all(
      tokens.map((t, i) =>
        waitFor(() => resumeHook(`${t}:2`, { n: 100 + i, marker: MARKER }).then(() => true), {
          timeoutMs: 60_000,
          intervalMs: 100,
          what: `the second hook of run ${i} to be resumable again`,
        }),
      ),
    );
    await waitFor(async () => (await Promise.all(runs.map((r) => r.status))).every((s) => s === 'completed'), {
      timeoutMs: 60_000,
      intervalMs: 100,
      what: 'every run to complete',
    });

    expect(worker.hasExited(), 'the worker was never restarted').to.equal(false);
    for (let i = 0; i < RUNS; i++) {
      const run = getRun(runs[i]!.runId);
      const info = await run.info();
      expect(info.output, `run ${i}`).to.deep.equal({ n: [i, 100 + i], pids: [worker.pid, worker.pid] });
      const events = await run.events();
      // The log as it survived is a prefix of the final log: nothing restored was rewritten.
      expect(events.slice(0, restored[i]!.length).map((e) => e.eventId)).to.deep.equal(restored[i]!.map((e) => e.eventId));
      for (const type of ['step_completed', 'hook_created', 'hook_received', 'run_completed'] as const) {
        const ids = events.filter((e) => e.type === type).map((e) => e.correlationId);
        expect(new Set(ids).size, `run ${i}: each ${type} once`).to.equal(ids.length);
      }
      expect(events.filter((e) => e.type === 'step_completed')).to.have.length(2);
      expect(events.filter((e) => e.type === 'hook_received')).to.have.length(2);
    }
    // What the loss re-ran: step.b, whose result was lost, ran again (steps are at least once).
    const log = await readStepLog(stepProbe, prefix);
    const ends = (runId: string, step: string) => log.filter((r) => r.runId === runId && r.step === step && r.phase === 'end').length;
    for (const r of runs) {
      expect(ends(r.runId, 'step.b'), 'step.b ran again after the loss').to.equal(2);
      expect(ends(r.runId, 'step.c')).to.equal(1);
    }

    // The worker's log lines never carry a token or a payload.
    const output = worker.stdout.join('\n') + worker.stderr();
    expect(output).to.not.include(MARKER);
    expect(output).to.not.include(`lost:${prefix}`);
  });
});
