/**
 * Benchmark (not a test): the engine end to end, next to raw BullMQ, on one
 * Redis, in one run.
 *
 *   npm run bench:engine                       # private redis-server from PATH
 *   REDIS_URL=redis://host:6379 npm run bench:engine
 *   npm run bench:engine -- --jobs 20000 --runs 2000 --latency 1000 --history 10,100,1000,10000
 *
 * 1. Raw BullMQ no-op jobs/s (the floor), in this process:
 *    a. `addBulk` N no-op jobs, then one Worker (concurrency 100) drains them (drain rate);
 *    b. 64 concurrent `Queue.add` callers while the Worker consumes (add → done rate).
 * 2. End-to-end runs/s of a 3-step no-op workflow (steps inline, the default),
 *    with 1 and with 2 worker processes (test/process/fixtures/worker-main.ts,
 *    concurrency 100 each): 64 concurrent `start()` callers start the runs; the
 *    clock stops when ZCARD of the prefix's completed index reaches the count.
 *    CPU per run is read for the worker processes (/proc), Redis (INFO cpu)
 *    and this process (the start() callers), and per job for raw BullMQ.
 * 3. resumeHook → next line of workflow code, p50/p99: an in-process worker,
 *    a workflow that loops on `await hook`; the body records performance.now()
 *    right after the await resolves (Date.now() is patched inside workflows),
 *    compared to performance.now() just before resumeHook. One resume at a
 *    time, each after the previous wake-up has fully finished.
 * 4. Wake-up cost after 10, 100, 1,000 and 10,000 prior events: runs looping on
 *    a hook are fed that many payloads (1 hook_received event each), then the
 *    time resume → next line is measured warm (the worker that ran the run
 *    last, cached execution) and cold (a worker with cacheSize 0: full replay).
 *
 * Targets: resume → next line p50 ≤ 3 ms; 3-step workflows/s ≥ 25% of raw
 * BullMQ no-op jobs/s (1b, the add+process floor), with one worker process
 * (like raw BullMQ's one Worker) and, on a machine of at least 4 CPUs, with
 * two (on fewer, 2 workers + Redis + the start() callers oversubscribe the
 * cores: the 2-process ratio is then printed as information); warm wake-up
 * after 10,000 events ≤ 1.2 × after 10. Prints a table and writes bench-results/engine.json.
 * `--check` exits 1 when a target is missed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createHook, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, resumeHook, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { createKeyspace } from '../lib/redis/keys.js';
import { threeNoops } from '../test/process/fixtures/workflows.js';
import { launchRedis, type LaunchedRedis } from './redis-launcher.js';
import { intArg } from './bench-args.js';

// ---------------------------------------------------------------- parameters

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Workers log each run's start and end at info: a benchmark measures the engine, not stderr (its children inherit this).
process.env.WORKFLOW_REDIS_LOG_LEVEL ??= 'warn';
const WORKER_MAIN = join(ROOT, 'test', 'process', 'fixtures', 'worker-main.ts');

const arg = intArg;
function listArg(name: string, fallback: number[]): number[] {
  const i = process.argv.indexOf(`--${name}`);
  const raw = i >= 0 ? process.argv[i + 1] : process.env[`BENCH_${name.toUpperCase()}`];
  if (raw === undefined) return fallback;
  return raw.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name}: bad entry ${s}`);
    return n;
  });
}

const PARAMS = {
  jobs: arg('jobs', 10_000),
  // The same for the raw Worker and the engine's workers. 100, not 50: a replay job spans several
  // event-loop turns (one per step result), so at 50 a worker process is capped by latency
  // (about 3 000 runs/s here) before it is by CPU; raw BullMQ no-op jobs are CPU-bound either way.
  bullConcurrency: arg('bull-concurrency', 100),
  callers: arg('callers', 64),
  runs: arg('runs', 5000),
  warmupRuns: arg('warmup-runs', 1000), // as many as raw BullMQ's warm-up jobs: the worker process starts cold
  workerConcurrency: arg('worker-concurrency', 100),
  latency: arg('latency', 1000),
  latencyWarmup: arg('latency-warmup', 100),
  history: listArg('history', [10, 100, 1000, 10_000]),
  samples: arg('samples', 50),
  rounds: arg('rounds', 5),
};
const CHECK = process.argv.includes('--check') || process.env.BENCH_CHECK === '1';
const TARGETS = { resumeP50Ms: 3, e2eVsRaw: 0.25, warmGrowth: 1.2 };

// ---------------------------------------------------------------- helpers

const sleepMs = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}
function summary(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p90: quantile(s, 0.9), p99: quantile(s, 0.99), min: s[0] ?? NaN, max: s[s.length - 1] ?? NaN };
}
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : 'n/a');

/** Polls `check` every `everyMs` until true (pacing, not measured). */
async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 120_000, everyMs = 2): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
    await sleepMs(everyMs);
  }
}

/** Runs `total` calls of `fn` with `callers` concurrent callers. */
async function concurrently(total: number, callers: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(callers, total) }, async () => {
      while (next < total) await fn(next++);
    }),
  );
}

/** CPU seconds a process has used, from /proc (Linux); NaN elsewhere. */
function procCpuSec(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}
/** CPU seconds the Redis server has used (INFO cpu). */
async function redisCpuSec(probe: Redis): Promise<number> {
  const info = await probe.info('cpu');
  const get = (k: string) => Number(new RegExp(`${k}:([\\d.]+)`).exec(info)?.[1] ?? NaN);
  return get('used_cpu_user') + get('used_cpu_sys');
}
/** This process's CPU seconds. */
const selfCpuSec = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

let prefixSeq = 0;
const newPrefix = (label: string) => `bench-${label}-${process.pid}-${++prefixSeq}`;

// ---------------------------------------------------------------- worker processes

interface Child {
  proc: ChildProcess;
  exited: Promise<unknown>;
  /** worker.stats printed on the `closed` line at shutdown. */
  stats(): { replays: number; warmReplays: number; stepJobs: number } | undefined;
  stderr(): string;
}
async function spawnWorkerProcess(url: string, prefix: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      REDIS_URL: url,
      PREFIX: prefix,
      CONCURRENCY: String(PARAMS.workerConcurrency),
      RECONCILE_MS: '0',
      STEP_LOG: '0',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  let gone = false;
  const exited = new Promise((r) => proc.once('exit', (code) => ((gone = true), r(code))));
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err = (err + c).slice(-20_000)));
  const kill = () => {
    if (!gone) proc.kill('SIGKILL');
  };
  process.once('exit', kill);
  await until(() => {
    if (gone) throw new Error(`worker process exited before ready:\n${err}`);
    return /^ready/m.test(out);
  }, 'a worker process to be ready', 30_000, 20);
  return {
    proc,
    exited,
    stats: () => {
      const m = /^closed (.*)$/m.exec(out);
      return m ? JSON.parse(m[1]!) : undefined;
    },
    stderr: () => err,
  };
}
async function stopWorkerProcess(c: Child): Promise<void> {
  c.proc.kill('SIGTERM');
  const t = setTimeout(() => c.proc.kill('SIGKILL'), 10_000);
  await c.exited;
  clearTimeout(t);
}

// ---------------------------------------------------------------- 1. raw BullMQ

async function rawBullmq(url: string, probe: Redis) {
  const prefix = `{${newPrefix('raw')}}`;
  const conn = new Redis(url, { maxRetriesPerRequest: null });
  const queue = new Queue('noop', { connection: conn, prefix });
  const opts = { removeOnComplete: true, removeOnFail: 1000 };
  let done = 0;
  const worker = new Worker('noop', async () => undefined, {
    connection: new Redis(url, { maxRetriesPerRequest: null }),
    prefix,
    concurrency: PARAMS.bullConcurrency,
    autorun: false,
  });
  worker.on('completed', () => done++);
  await worker.waitUntilReady();

  // warm-up (JIT, script cache)
  void worker.run();
  await concurrently(1000, PARAMS.callers, (i) => queue.add('noop', { i }, opts));
  await until(() => done >= 1000, 'raw warm-up');

  // a. addBulk then drain
  await worker.pause(true);
  done = 0;
  const N = PARAMS.jobs;
  for (let i = 0; i < N; i += 1000) {
    await queue.addBulk(Array.from({ length: Math.min(1000, N - i) }, (_, k) => ({ name: 'noop', data: { i: i + k }, opts })));
  }
  let t0 = performance.now();
  worker.resume();
  await until(() => done >= N, 'raw drain');
  const drainSec = (performance.now() - t0) / 1000;

  // b. 64 concurrent adders while consuming
  done = 0;
  const cpu0 = { self: selfCpuSec(), redis: await redisCpuSec(probe) };
  t0 = performance.now();
  await concurrently(N, PARAMS.callers, (i) => queue.add('noop', { i }, opts));
  await until(() => done >= N, 'raw add+process');
  const addProcessSec = (performance.now() - t0) / 1000;
  const cpuUsPerJob = {
    node: ((selfCpuSec() - cpu0.self) * 1e6) / N,
    redis: (((await redisCpuSec(probe)) - cpu0.redis) * 1e6) / N,
  };

  await worker.close();
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
  conn.disconnect();
  return {
    drainJobsPerSec: N / drainSec,
    addAndProcessJobsPerSec: N / addProcessSec,
    jobs: N,
    /** CPU per job while adding and processing (b): this process (adders + Worker) and Redis. */
    cpuUsPerJob,
  };
}

// ---------------------------------------------------------------- 2. end to end

async function endToEnd(url: string, workers: number, probe: Redis) {
  const prefix = newPrefix(`e2e${workers}`);
  configure({ connection: url, prefix });
  const children = await Promise.all(Array.from({ length: workers }, () => spawnWorkerProcess(url, prefix)));
  const completedKey = createKeyspace(prefix).runsByStatus('completed');
  try {
    const W = PARAMS.warmupRuns;
    await concurrently(W, PARAMS.callers, (i) => start(threeNoops, [i]));
    await until(async () => (await probe.zcard(completedKey)) >= W, 'e2e warm-up', 120_000, 10);

    const N = PARAMS.runs;
    const cpu0 = { self: selfCpuSec(), redis: await redisCpuSec(probe), workers: children.map((c) => procCpuSec(c.proc.pid!)) };
    const t0 = performance.now();
    let startedAt = 0;
    await concurrently(N, PARAMS.callers, (i) => start(threeNoops, [i]));
    startedAt = performance.now();
    await until(async () => (await probe.zcard(completedKey)) >= W + N, 'e2e runs', 300_000, 5);
    const sec = (performance.now() - t0) / 1000;
    // CPU per run: the start() callers (this process, also polling), the worker processes, Redis.
    const cpuUsPerRun = {
      starter: ((selfCpuSec() - cpu0.self) * 1e6) / N,
      workers: (children.reduce((sum, c, i) => sum + procCpuSec(c.proc.pid!) - cpu0.workers[i]!, 0) * 1e6) / N,
      redis: (((await redisCpuSec(probe)) - cpu0.redis) * 1e6) / N,
    };
    const result = { workers, runs: N, runsPerSec: N / sec, seconds: sec, startPhaseSec: (startedAt - t0) / 1000, cpuUsPerRun };
    await Promise.all(children.map(stopWorkerProcess));
    const stats = children.map((c) => c.stats());
    const warnings = children.map((c) => c.stderr().split('\n').filter(Boolean).length);
    return { ...result, workerStats: stats, workerStderrLines: warnings };
  } finally {
    await Promise.all(children.map(stopWorkerProcess));
    await closeWorkflowClient();
  }
}

// ---------------------------------------------------------------- 3 & 4. resume → next line

/** seq → resolver of the time the workflow body saw that payload. */
const marks = new Map<number, (t: number) => void>();
/** token → payloads consumed so far (max over replays). */
const progress = new Map<string, number>();

const hookLoop = defineWorkflow('bench.hook-loop', async (token: string) => {
  const hook = createHook<{ seq: number }>({ token });
  let n = 0;
  for (;;) {
    const p = await hook;
    const t = performance.now(); // the next line after the hook resolved
    n++;
    const mark = marks.get(p.seq);
    if (mark) {
      marks.delete(p.seq);
      mark(t);
    }
    if (n > (progress.get(token) ?? 0)) progress.set(token, n);
    if (p.seq === -2) return n;
  }
});

let seqCounter = 0;

/** Waits until no wake-up of the prefix is queued or running (pacing, not measured). */
async function quiesce(probe: Redis, prefix: string): Promise<void> {
  const bull = createKeyspace(prefix).bullPrefix;
  await until(async () => {
    const [active, wait, delayed, prioritized] = (await probe
      .multi()
      .llen(`${bull}:workflows:active`)
      .llen(`${bull}:workflows:wait`)
      .zcard(`${bull}:workflows:delayed`)
      .zcard(`${bull}:workflows:prioritized`)
      .exec())!.map(([, v]) => v as number);
    return active === 0 && wait === 0 && delayed === 0 && prioritized === 0;
  }, 'the workflow queue to be idle', 60_000, 1);
}

interface Sample {
  ms: number;
  /** The wake-up ran on a cached execution. */
  warm: boolean;
  /** Wake-ups the resume caused (1 unless it was delayed or retried). */
  replays: number;
}

/** One measured resume of a suspended run: time from just before resumeHook to the workflow's next line. */
async function measuredResume(probe: Redis, prefix: string, token: string, worker: WorkflowWorker): Promise<Sample> {
  await quiesce(probe, prefix);
  const before = { ...worker.stats };
  const seq = ++seqCounter;
  let resolveMark!: (t: number) => void;
  const marked = new Promise<number>((r) => (resolveMark = r));
  marks.set(seq, resolveMark);
  const t0 = performance.now();
  await resumeHook(token, { seq });
  const ms = (await marked) - t0;
  await quiesce(probe, prefix);
  await until(() => worker.stats.replays > before.replays, 'the wake-up to be counted', 10_000, 1);
  return { ms, warm: worker.stats.warmReplays > before.warmReplays, replays: worker.stats.replays - before.replays };
}

async function startLoopRun(token: string): Promise<void> {
  progress.set(token, 0);
  await start(hookLoop, [token]);
  // the hook exists once the first wake-up suspended
  await until(async () => {
    try {
      await resumeHook(token, { seq: -1 });
      return true;
    } catch (err) {
      if ((err as Error).name === 'HookNotFoundError') return false;
      throw err;
    }
  }, 'the loop hook', 30_000, 2);
}

async function inProcessWorker(url: string, prefix: string, cacheSize?: number): Promise<WorkflowWorker> {
  return createWorker({ workflows: [hookLoop], connection: url, prefix, concurrency: 10, reconcileIntervalMs: 0, cacheSize });
}

async function resumeLatency(url: string, probe: Redis) {
  const prefix = newPrefix('lat');
  configure({ connection: url, prefix });
  const worker = await inProcessWorker(url, prefix);
  try {
    const token = `lat-${prefix}`;
    await startLoopRun(token);
    for (let i = 0; i < PARAMS.latencyWarmup; i++) await measuredResume(probe, prefix, token, worker);
    const samples: Sample[] = [];
    for (let i = 0; i < PARAMS.latency; i++) samples.push(await measuredResume(probe, prefix, token, worker));
    return { ...summary(samples.map((x) => x.ms)), warmWakeUps: samples.filter((x) => x.warm).length };
  } finally {
    await worker.close();
    await closeWorkflowClient();
  }
}

/** Feeds `count` unmeasured payloads to a loop run and waits until the workflow consumed them. */
async function feed(token: string, count: number): Promise<void> {
  const target = (progress.get(token) ?? 0) + count;
  await concurrently(count, PARAMS.callers, () => resumeHook(token, { seq: -1 }));
  await until(() => (progress.get(token) ?? 0) >= target, `the run to consume ${count} payloads`, 300_000, 5);
}

interface HistoryRow {
  priorEvents: number;
  runs: number;
  warm: ReturnType<typeof summary>;
  cold: ReturnType<typeof summary>;
  warmHits: number;
  coldHits: number;
  meanPriorWarm: number;
  meanPriorCold: number;
  warmSamplesMs: number[];
  coldSamplesMs: number[];
}

/**
 * Builds, for each history level, runs with that many events (small levels:
 * one run per sample; levels >= 1000: one run, the warm and cold samples add 2 × samples events), then
 * measures warm samples (the worker that built them) and cold samples (a
 * worker with cacheSize 0), interleaving the levels so that drift and JIT
 * warm-up hit all of them alike.
 */
async function wakeUpCost(url: string, probe: Redis): Promise<HistoryRow[]> {
  const prefix = newPrefix('hist');
  configure({ connection: url, prefix });
  const keys = createKeyspace(prefix);
  const S = PARAMS.samples;
  try {
    const warmWorker = await inProcessWorker(url, prefix);
    const levels: { level: number; tokens: string[]; runIds: string[] }[] = [];
    for (const level of PARAMS.history) {
      const runCount = level >= 1000 ? 1 : S;
      const tokens = Array.from({ length: runCount }, (_, i) => `hist-${level}-${i}-${prefix}`);
      const runIds: string[] = [];
      const tb = performance.now();
      for (const token of tokens) {
        await startLoopRun(token);
        const hook = await probe.hget(keys.hooks(), token);
        const runId = JSON.parse(hook!).runId as string;
        runIds.push(runId);
        const have = await probe.xlen(keys.runEvents(runId));
        if (level > have) await feed(token, level - have);
      }
      levels.push({ level, tokens, runIds });
      log(`history ${level}: built ${runCount} run(s) in ${fmt((performance.now() - tb) / 1000, 1)} s`);
    }

    const measure = async (worker: WorkflowWorker) => {
      const out = levels.map(() => ({ samples: [] as Sample[], prior: [] as number[] }));
      for (let s = 0; s < S; s++) {
        for (const [li, L] of levels.entries()) {
          const r = s % L.tokens.length;
          out[li]!.prior.push(await probe.xlen(keys.runEvents(L.runIds[r]!)));
          out[li]!.samples.push(await measuredResume(probe, prefix, L.tokens[r]!, worker));
        }
      }
      return out;
    };
    const warm = await measure(warmWorker);
    await warmWorker.close();
    const coldWorker = await inProcessWorker(url, prefix, 0);
    const cold = await measure(coldWorker);
    await coldWorker.close();

    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    return levels.map((L, i) => {
      const w = warm[i]!;
      const c = cold[i]!;
      const row: HistoryRow = {
        priorEvents: L.level,
        runs: L.tokens.length,
        warm: summary(w.samples.map((x) => x.ms)),
        cold: summary(c.samples.map((x) => x.ms)),
        warmHits: w.samples.filter((x) => x.warm).length,
        coldHits: c.samples.filter((x) => !x.warm).length,
        meanPriorWarm: mean(w.prior),
        meanPriorCold: mean(c.prior),
        warmSamplesMs: w.samples.map((x) => +x.ms.toFixed(3)),
        coldSamplesMs: c.samples.map((x) => +x.ms.toFixed(3)),
      };
      log(`history ${L.level}: warm p50 ${fmt(row.warm.p50)} ms (${row.warmHits}/${S} warm), cold p50 ${fmt(row.cold.p50)} ms (${row.coldHits}/${S} cold)`);
      return row;
    });
  } finally {
    await closeWorkflowClient();
  }
}

// ---------------------------------------------------------------- main

const median = (xs: number[]) => quantile([...xs].sort((a, b) => a - b), 0.5);

async function main() {
  const tAll = performance.now();
  let launched: LaunchedRedis | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    launched = await launchRedis({ quiet: true });
    url = launched.url;
  }
  const probe = new Redis(url);
  const redisVersion = /redis_version:(\S+)/.exec(await probe.info('server'))?.[1];
  try {
    log(`redis ${redisVersion} at ${url.replace(/\/\/[^@]*@/, '//***@')}; ${cpus().length} CPUs; node ${process.version}`);

    // 1 & 2, in rounds: the ratio is taken per round (same machine state), then the median.
    const rounds: { raw: Awaited<ReturnType<typeof rawBullmq>>; e2e1: Awaited<ReturnType<typeof endToEnd>>; e2e2: Awaited<ReturnType<typeof endToEnd>> }[] = [];
    for (let r = 1; r <= PARAMS.rounds; r++) {
      log(`round ${r}/${PARAMS.rounds}: raw BullMQ...`);
      const raw = await rawBullmq(url, probe);
      log(`   drain ${fmt(raw.drainJobsPerSec, 0)} jobs/s, add+process ${fmt(raw.addAndProcessJobsPerSec, 0)} jobs/s`);
      const e2e1 = await endToEnd(url, 1, probe);
      log(`   1 worker process: ${fmt(e2e1.runsPerSec, 0)} runs/s; stats ${JSON.stringify(e2e1.workerStats)}`);
      const e2e2 = await endToEnd(url, 2, probe);
      log(`   2 worker processes: ${fmt(e2e2.runsPerSec, 0)} runs/s; stats ${JSON.stringify(e2e2.workerStats)}`);
      rounds.push({ raw, e2e1, e2e2 });
    }
    const tp = {
      drain: median(rounds.map((x) => x.raw.drainJobsPerSec)),
      addProcess: median(rounds.map((x) => x.raw.addAndProcessJobsPerSec)),
      e2e1: median(rounds.map((x) => x.e2e1.runsPerSec)),
      e2e2: median(rounds.map((x) => x.e2e2.runsPerSec)),
      ratio1: median(rounds.map((x) => x.e2e1.runsPerSec / x.raw.addAndProcessJobsPerSec)),
      ratio2: median(rounds.map((x) => x.e2e2.runsPerSec / x.raw.addAndProcessJobsPerSec)),
      ratio1Drain: median(rounds.map((x) => x.e2e1.runsPerSec / x.raw.drainJobsPerSec)),
    };

    log('3. resume → next line...');
    const latency = await resumeLatency(url, probe);
    log(`   p50 ${fmt(latency.p50)} ms, p99 ${fmt(latency.p99)} ms`);
    log('4. wake-up cost vs history...');
    const history = await wakeUpCost(url, probe);

    // ------------------------------------------------------------ report
    const first = history.find((h) => h.priorEvents === Math.min(...PARAMS.history));
    const last = history.find((h) => h.priorEvents === Math.max(...PARAMS.history));
    const growth = first && last ? last.warm.p50 / first.warm.p50 : NaN;
    const pct = (x: number) => `${fmt(100 * x, 1)}%`;
    const targets = [
      { target: `resume → next line p50 ≤ ${TARGETS.resumeP50Ms} ms`, measured: `${fmt(latency.p50)} ms (p99 ${fmt(latency.p99)} ms)`, pass: latency.p50 <= TARGETS.resumeP50Ms },
      {
        target: `3-step runs/s ≥ ${pct(TARGETS.e2eVsRaw)} of raw BullMQ no-op jobs/s (1 worker process vs add+process; median of per-round ratios)`,
        measured: `${fmt(tp.e2e1, 0)} vs ${fmt(tp.addProcess, 0)} → ${pct(tp.ratio1)}`,
        pass: tp.ratio1 >= TARGETS.e2eVsRaw,
      },
      // Two worker processes, Redis and the start() callers need 4 cores to run side by side; on fewer
      // the second process only adds contention, so its ratio is reported, not held to the target.
      cpus().length >= 4
        ? {
            target: `same, 2 worker processes`,
            measured: `${fmt(tp.e2e2, 0)} vs ${fmt(tp.addProcess, 0)} → ${pct(tp.ratio2)}`,
            pass: tp.ratio2 >= TARGETS.e2eVsRaw,
          }
        : {
            target: `same, 2 worker processes (informational: ${cpus().length} CPUs for 2 workers, Redis and the start() callers)`,
            measured: `${fmt(tp.e2e2, 0)} vs ${fmt(tp.addProcess, 0)} → ${pct(tp.ratio2)}`,
            pass: undefined,
          },
      {
        target: `warm wake-up after ${last?.priorEvents} events ≤ ${TARGETS.warmGrowth}× after ${first?.priorEvents} (p50)`,
        measured: `${fmt(last?.warm.p50 ?? NaN)} / ${fmt(first?.warm.p50 ?? NaN)} ms = ${fmt(growth)}×`,
        pass: growth <= TARGETS.warmGrowth,
      },
    ];

    const lines: string[] = [];
    lines.push('');
    lines.push(`workflow-redis engine benchmark — redis ${redisVersion}, node ${process.version}, ${cpus().length} CPUs (${cpus()[0]?.model ?? '?'})`);
    lines.push('');
    lines.push(`| measurement (median of ${PARAMS.rounds} rounds; per round) — node ${process.version} | result |`);
    lines.push('|---|---|');
    const per = (xs: number[]) => xs.map((x) => fmt(x, 0)).join(', ');
    lines.push(`| raw BullMQ: addBulk ${PARAMS.jobs} no-op jobs, then drain (1 Worker, concurrency ${PARAMS.bullConcurrency}, in-process) | ${fmt(tp.drain, 0)} jobs/s (${per(rounds.map((x) => x.raw.drainJobsPerSec))}) |`);
    lines.push(`| raw BullMQ: ${PARAMS.callers} concurrent adders while the Worker consumes (add → done) | ${fmt(tp.addProcess, 0)} jobs/s (${per(rounds.map((x) => x.raw.addAndProcessJobsPerSec))}) |`);
    lines.push(`| 3-step no-op workflow, 1 worker process (concurrency ${PARAMS.workerConcurrency}), ${PARAMS.runs} runs, ${PARAMS.callers} concurrent start() | ${fmt(tp.e2e1, 0)} runs/s = ${fmt(3 * tp.e2e1, 0)} steps/s (${per(rounds.map((x) => x.e2e1.runsPerSec))}) |`);
    lines.push(`| 3-step no-op workflow, 2 worker processes | ${fmt(tp.e2e2, 0)} runs/s = ${fmt(3 * tp.e2e2, 0)} steps/s (${per(rounds.map((x) => x.e2e2.runsPerSec))}) |`);
    lines.push(`| runs/s ÷ raw jobs/s (1 worker; vs add+process / vs drain) | ${pct(tp.ratio1)} / ${pct(tp.ratio1Drain)} |`);
    const cpu = {
      rawNode: median(rounds.map((x) => x.raw.cpuUsPerJob.node)),
      rawRedis: median(rounds.map((x) => x.raw.cpuUsPerJob.redis)),
      starter: median(rounds.map((x) => x.e2e1.cpuUsPerRun.starter)),
      worker: median(rounds.map((x) => x.e2e1.cpuUsPerRun.workers)),
      redis: median(rounds.map((x) => x.e2e1.cpuUsPerRun.redis)),
    };
    lines.push(`| CPU per raw job: Node (adders + Worker) / Redis | ${fmt(cpu.rawNode, 0)} µs / ${fmt(cpu.rawRedis, 0)} µs |`);
    lines.push(`| CPU per 3-step run (1 worker): start() callers / worker process / Redis | ${fmt(cpu.starter, 0)} µs / ${fmt(cpu.worker, 0)} µs / ${fmt(cpu.redis, 0)} µs |`);
    lines.push(`| resumeHook → next line (in-process worker, ${latency.warmWakeUps}/${latency.n} warm, ${latency.n} samples) | p50 ${fmt(latency.p50)} ms, p90 ${fmt(latency.p90)} ms, p99 ${fmt(latency.p99)} ms, max ${fmt(latency.max)} ms |`);
    lines.push('');
    lines.push('| prior events (mean measured warm / cold) | samples | warm p50 / max (ms) | cold p50 / max (ms) | cold / warm |');
    lines.push('|---:|---:|---:|---:|---:|');
    for (const h of history) {
      lines.push(
        `| ${h.priorEvents} (${fmt(h.meanPriorWarm, 0)} / ${fmt(h.meanPriorCold, 0)}) | ${h.warm.n} (${h.warmHits} warm) / ${h.cold.n} (${h.coldHits} cold) | ` +
          `${fmt(h.warm.p50)} / ${fmt(h.warm.max)} | ${fmt(h.cold.p50)} / ${fmt(h.cold.max)} | ${fmt(h.cold.p50 / h.warm.p50, 1)}× |`,
      );
    }
    lines.push('');
    lines.push('| target | measured | |');
    lines.push('|---|---|---|');
    for (const t of targets) lines.push(`| ${t.target} | ${t.measured} | ${t.pass === undefined ? 'info' : t.pass ? 'PASS' : 'FAIL'} |`);
    lines.push('');
    lines.push(`total ${fmt((performance.now() - tAll) / 1000, 1)} s`);
    process.stdout.write(lines.join('\n') + '\n');

    const out = {
      date: new Date().toISOString(),
      node: process.version,
      env: { node: process.version, redis: redisVersion, cpus: cpus().length, cpuModel: cpus()[0]?.model, privateRedis: !!launched },
      params: PARAMS,
      throughput: { medians: tp, cpuMediansUs: cpu, rounds },
      resumeToNextLineMs: latency,
      wakeUpCostMs: history,
      targets,
      totalSec: (performance.now() - tAll) / 1000,
    };
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench-results', 'engine.json'), JSON.stringify(out, null, 2) + '\n');
    log('wrote bench-results/engine.json');
    if (CHECK && targets.some((t) => t.pass === false)) process.exitCode = 1;
  } finally {
    probe.disconnect();
    await launched?.stop();
  }
}

main().then(
  () => process.exit(process.exitCode ?? 0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
