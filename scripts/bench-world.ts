/**
 * Benchmark (not a test): the official Workflow SDK runtime
 * (`workflow@5.0.0-beta.35`, as `@workflow/world-testing@5.0.0-beta.35` pins
 * it) on three Worlds, in one run, through the same workflows and the same
 * HTTP server:
 *
 * - `redis`: workflow-redis/world (this checkout's built `dist/world`, on a
 *   private redis-server, or REDIS_URL with DB 15 and a prefix of its own);
 * - `local`: `@workflow/world-local@5.0.0-beta.29` (files in a fresh temporary
 *   directory, in-process queue);
 * - `postgres`: `@workflow/world-postgres@5.0.0-beta.27` (graphile-worker), in
 *   a database `wfr_world_bench` created fresh for the run on the server of
 *   BENCH_POSTGRES_URL (default `postgres://postgres@127.0.0.1:5432/test`), when
 *   that server answers.
 *
 *   npm run bench:world                                    # every available world
 *   npm run bench:world -- --worlds local,postgres
 *   npm run bench:world -- --runs 30 --hook-runs 10 --burst 200 --concurrency 50 --step-runs 3
 *
 * The workflows and the server are the suite's prebuilt ones
 * (`dist/.well-known/workflow/v1/flow.mjs`, `dist/src/server.mjs`: `POST
 * /invoke`, `POST /hooks/:token`, `GET /runs/:id`, `GET /runs/:id/events`), one
 * server per world with `WORKFLOW_TARGET_WORLD` set, driven over HTTP. The
 * server has no completion push, so completion is observed by polling `GET
 * /runs/:id` (world.runs.get): every `--poll-ms` (default 5) for the latency
 * rows, every `--burst-poll-ms` (default 50) per run in flight for the
 * throughput row. The JSON also keeps the World's own figures
 * (completedAt − createdAt of its run records), free of polling delay.
 *
 * Rows:
 * - (a) `addition(1, 2)` (one step): POST /invoke → status completed, `--runs` runs one at a time.
 * - (b) `collectWithHook(token, 'bench')` (the suite's hooks workflow): once
 *   it has written `hookCreated` to its stream (GET /runs/:id/readable, read
 *   all along) and has been idle `--idle-ms`, POST /hooks/:token `{data,
 *   done: true}` → the workflow's `hookResumed` line with that payload arrives
 *   on the stream (written by a step right after the hook yields it), and →
 *   run completed (its output checked), `--hook-runs` runs after a warm-up.
 *   (The bundle's `hookWorkflow` calls `hook.next()`, which this runtime's
 *   hooks do not have: it fails with a TypeError on every world.)
 * - (c) `--burst` addition runs from `--concurrency` clients (each: invoke,
 *   wait for completed, next): runs/s and wall time.
 * - (d) `signalCostWorkflow({ count, withSignal: false })` (count sequential
 *   one-line steps) for count 10 and 100, `--step-runs` runs each: run time / steps.
 *
 * Prints a table with each world's figure and redis/other per row, writes
 * bench-results/world.json.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { intArg } from './bench-args.js';
import { launchRedis } from './redis-launcher.js';
import {
  deletePrefix,
  ensureInstalled,
  ensureWorldBuilt,
  installedVersion,
  polyfillNodeOptions,
  ROOT,
  withDb,
  writeRedisWorldModule,
} from './world-conformance.js';

// ---------------------------------------------------------------- parameters

const BENCH_DIR = join(ROOT, '.cache', 'world-bench');
const BENCH_DEPS = {
  '@workflow/world-testing': '5.0.0-beta.35',
  '@workflow/world-local': '5.0.0-beta.29',
  // beta.29 depends on an @workflow/errors version that is not published; beta.27 pins @workflow/world 5.0.0-beta.21 like the suite.
  '@workflow/world-postgres': '5.0.0-beta.27',
};

const PARAMS = {
  runs: intArg('runs', 20),
  hookRuns: intArg('hook-runs', 10),
  idleMs: intArg('idle-ms', 1000),
  burst: intArg('burst', 200),
  concurrency: intArg('concurrency', 50),
  stepRuns: intArg('step-runs', 3),
  warmup: intArg('warmup', 3),
  pollMs: intArg('poll-ms', 5),
  burstPollMs: intArg('burst-poll-ms', 50),
  runTimeoutS: intArg('run-timeout', 120),
};
const STEP_COUNTS = [10, 100];

type WorldName = 'redis' | 'local' | 'postgres';
const ALL_WORLDS: WorldName[] = ['redis', 'local', 'postgres'];

function worldsArg(): { worlds: WorldName[]; explicit: boolean } {
  const i = process.argv.indexOf('--worlds');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.BENCH_WORLDS;
  if (raw === undefined) return { worlds: ALL_WORLDS, explicit: false };
  const worlds = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of worlds) if (!ALL_WORLDS.includes(w as WorldName)) throw new Error(`--worlds: unknown world ${w} (use ${ALL_WORLDS.join(',')})`);
  return { worlds: worlds as WorldName[], explicit: true };
}

const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POSTGRES_DB = 'wfr_world_bench';

// ---------------------------------------------------------------- helpers

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round2 = (x: number) => Math.round(x * 100) / 100;

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}
function fmt(x: number | undefined, digits = 1): string {
  return x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime
  } catch {
    return NaN;
  }
}

/** Keeps the last lines a server printed (quoted when it fails). */
class Tail {
  private lines: string[] = [];
  push(chunk: Buffer): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
    if (this.lines.length > 40) this.lines.splice(0, this.lines.length - 40);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

// ---------------------------------------------------------------- the suite's server

interface Server {
  base: string;
  proc: ChildProcess;
  tail: Tail;
  stop(): Promise<void>;
}

/** Starts the suite's server (dist/src/server.mjs) for `target`; resolves once it wrote `{"state":"listening"}` to fd 3. */
function startServer(target: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const serverPath = join(BENCH_DIR, 'node_modules', '@workflow', 'world-testing', 'dist', 'src', 'server.mjs');
  const proc = spawn(process.execPath, [serverPath], {
    cwd: BENCH_DIR,
    env: { ...env, WORKFLOW_TARGET_WORLD: target, CONTROL_FD: '3' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const tail = new Tail();
  proc.stdout!.on('data', (c: Buffer) => tail.push(c));
  proc.stderr!.on('data', (c: Buffer) => tail.push(c));
  let exited = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => ((exited = true), r())));
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    let buf = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${why}\nserver output (last lines):\n${tail.text()}`)));
    };
    const timer = setTimeout(() => fail('the server did not report listening within 60 s'), 60_000);
    const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const control = JSON.parse(buf.slice(0, nl)) as { state: string; info: { port: number } };
      resolve({ base: `http://127.0.0.1:${control.info.port}`, proc, tail, stop });
    });
    proc.once('exit', (code, signal) => fail(`the server exited during start-up (${signal ?? `exit code ${code}`})`));
  });
}

/** What GET /runs/:id answers (the World's run record; Uint8Array as {__type, data}). */
interface RunRecord {
  runId: string;
  status: string;
  output?: Uint8Array;
  error?: unknown;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
}

class Client {
  /** GET /runs/:id calls made so far. */
  polls = 0;
  constructor(private readonly base: string) {}

  async invoke(file: string, workflow: string, args: unknown[]): Promise<string> {
    const res = await fetch(`${this.base}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file, workflow, args }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /invoke ${workflow}: ${res.status} ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { runId: string }).runId;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.polls++;
    const res = await fetch(`${this.base}/runs/${encodeURIComponent(runId)}`);
    const text = await res.text();
    if (!res.ok) return undefined; // not visible yet (or an error): poll again
    return JSON.parse(text, (_k, v) =>
      v !== null && typeof v === 'object' && v.__type === 'Uint8Array' && typeof v.data === 'string' ? new Uint8Array(Buffer.from(v.data, 'base64')) : v,
    ) as RunRecord;
  }

  async resumeHook(token: string, payload: unknown): Promise<void> {
    const res = await fetch(`${this.base}/hooks/${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /hooks/${token}: ${res.status} ${text.slice(0, 300)}`);
  }

  /** Polls GET /runs/:id every `intervalMs` until the run is terminal; resolves the record and the time it was seen. */
  async waitDone(runId: string, intervalMs: number): Promise<{ run: RunRecord; at: number }> {
    const deadline = now() + PARAMS.runTimeoutS * 1000;
    for (;;) {
      const run = await this.getRun(runId);
      const at = now();
      if (run && run.status === 'completed') return { run, at };
      if (run && (run.status === 'failed' || run.status === 'cancelled')) {
        throw new Error(`run ${runId} ${run.status}: ${JSON.stringify(run.error ?? null).slice(0, 500)}`);
      }
      if (at > deadline) throw new Error(`run ${runId} not completed after ${PARAMS.runTimeoutS} s (status ${run?.status ?? 'not found'})`);
      await sleep(intervalMs);
    }
  }
}

type Hydrate = (value: Uint8Array, runId: string, key: undefined) => Promise<unknown>;

// ---------------------------------------------------------------- worlds

interface Prepared {
  target: string;
  env: NodeJS.ProcessEnv;
  describe: string;
  /** The private redis-server's pid (its CPU per run is reported too). */
  storePid?: number;
  cleanup(): Promise<void>;
}

/** Loads `pg` from the bench's install (it is world-postgres's dependency, not ours). */
function loadPg(): { Client: new (o: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient } {
  return createRequire(join(BENCH_DIR, 'package.json'))('pg');
}
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

async function postgresReachable(): Promise<string | undefined> {
  const { Client: PgClientCtor } = loadPg();
  const c = new PgClientCtor({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const { rows } = await c.query('show server_version');
    return String(rows[0]?.server_version ?? 'unknown');
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

async function pgAdmin(sql: string): Promise<void> {
  const { Client: PgClientCtor } = loadPg();
  const c = new PgClientCtor({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end().catch(() => {});
  }
}

async function prepare(world: WorldName, baseEnv: NodeJS.ProcessEnv): Promise<Prepared> {
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  if (world === 'local') {
    const dataDir = mkdtempSync(join(tmpdir(), 'wfr-bench-world-local-'));
    env.WORKFLOW_LOCAL_DATA_DIR = dataDir;
    return { target: 'local', env, describe: `data dir ${dataDir}`, cleanup: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  if (world === 'postgres') {
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${POSTGRES_DB}`;
    await pgAdmin(`DROP DATABASE IF EXISTS ${POSTGRES_DB} WITH (FORCE)`);
    await pgAdmin(`CREATE DATABASE ${POSTGRES_DB}`);
    env.WORKFLOW_POSTGRES_URL = url.toString();
    // The package's own setup: drizzle migrations + graphile-worker's schema.
    const setup = spawnSync(process.execPath, [join(BENCH_DIR, 'node_modules', '@workflow', 'world-postgres', 'bin', 'setup.js')], {
      cwd: BENCH_DIR,
      env,
      encoding: 'utf8',
    });
    if (setup.status !== 0) throw new Error(`world-postgres setup failed:\n${setup.stdout}\n${setup.stderr}`);
    return {
      target: '@workflow/world-postgres',
      env,
      describe: `database ${POSTGRES_DB} on ${url.host} (fresh, migrated by the package's bin/setup.js)`,
      cleanup: () => pgAdmin(`DROP DATABASE IF EXISTS ${POSTGRES_DB} WITH (FORCE)`).catch(() => {}),
    };
  }
  // redis
  const target = writeRedisWorldModule(BENCH_DIR, ensureWorldBuilt());
  if (process.env.REDIS_URL) {
    const { url, db } = withDb(process.env.REDIS_URL, 15);
    const prefix = `wdkbench-${process.pid}`;
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await admin.connect();
    await deletePrefix(admin, prefix);
    env.WORKFLOW_REDIS_URL = url;
    env.WORKFLOW_REDIS_PREFIX = prefix;
    return {
      target,
      env,
      describe: `REDIS_URL ${new URL(url).host} DB ${db}, prefix ${prefix}`,
      cleanup: async () => {
        await deletePrefix(admin, prefix).catch(() => 0);
        admin.disconnect();
      },
    };
  }
  const redis = await launchRedis({ quiet: true });
  env.WORKFLOW_REDIS_URL = redis.url;
  delete env.WORKFLOW_REDIS_PREFIX;
  return { target, env, describe: `private redis-server ${redis.url} (pid ${redis.pid})`, storePid: redis.pid, cleanup: () => redis.stop() };
}

// ---------------------------------------------------------------- rows

interface WorldResult {
  world: WorldName;
  package: string;
  version: string;
  setup: string;
  error?: string;
  a?: { p50Ms: number; p95Ms: number; n: number; samplesMs: number[]; worldReportedP50Ms: number };
  /** p50Ms/p95Ms: resume → the workflow's hookResumed line read from its stream; completed*: resume → run completed (polled). */
  b?: { p50Ms: number; p95Ms: number; completedP50Ms: number; completedP95Ms: number; n: number; samplesMs: number[]; completedSamplesMs: number[] };
  /** serverCpuMsPerRun: CPU of the app server process (runtime + the World's client side; not redis-server or PostgreSQL) per run. */
  c?: {
    runs: number;
    concurrency: number;
    wallS: number;
    runsPerSec: number;
    latencyP50Ms: number;
    latencyP95Ms: number;
    worldReportedSpanS: number;
    serverCpuMsPerRun: number;
    /** redis-server's CPU per run (private server only). */
    storeCpuMsPerRun?: number;
    polls: number;
  };
  d?: Record<string, { steps: number; runMsP50: number; msPerStep: number; serverCpuMsPerStep: number; samplesMs: number[] }>;
}

const worldSpanMs = (run: RunRecord) => (run.completedAt ? Date.parse(run.completedAt) - Date.parse(run.createdAt) : NaN);

async function rowA(client: Client): Promise<WorldResult['a']> {
  for (let i = 0; i < PARAMS.warmup; i++) {
    await client.waitDone(await client.invoke('workflows/addition.ts', 'addition', [1, 2]), PARAMS.pollMs);
  }
  const samples: number[] = [];
  const reported: number[] = [];
  for (let i = 0; i < PARAMS.runs; i++) {
    const t0 = now();
    const runId = await client.invoke('workflows/addition.ts', 'addition', [i, 2]);
    const { run, at } = await client.waitDone(runId, PARAMS.pollMs);
    samples.push(at - t0);
    reported.push(worldSpanMs(run));
  }
  return { p50Ms: median(samples), p95Ms: percentile(samples, 0.95), n: samples.length, samplesMs: samples.map(round2), worldReportedP50Ms: median(reported) };
}

/** Reads a run's default stream (GET /runs/:id/readable, JSON lines) and tells when a matching line arrived. */
class StreamWatch {
  private readonly abort = new AbortController();
  private readonly seen: { obj: any; at: number }[] = [];
  private waiters: { pred: (o: any) => boolean; resolve: (at: number) => void }[] = [];
  private ended: Error | undefined;
  readonly done: Promise<void>;

  constructor(url: string) {
    this.done = this.read(url).catch((err: Error) => {
      if (!this.abort.signal.aborted) this.ended = err;
    });
  }

  private async read(url: string): Promise<void> {
    const res = await fetch(url, { signal: this.abort.signal });
    if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const at = now();
      for (const line of lines) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          continue;
        }
        this.seen.push({ obj, at });
        this.waiters = this.waiters.filter((w) => (w.pred(obj) ? (w.resolve(at), false) : true));
      }
    }
  }

  /** The time the first line matching `pred` arrived (already or later). */
  async waitFor(pred: (o: any) => boolean, what: string): Promise<number> {
    const hit = this.seen.find((s) => pred(s.obj));
    if (hit) return hit.at;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<number>((resolve) => this.waiters.push({ pred, resolve })),
        this.done.then(() => {
          throw this.ended ?? new Error(`the stream ended before ${what}`);
        }),
        new Promise<number>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${what} on the stream after ${PARAMS.runTimeoutS} s`)), PARAMS.runTimeoutS * 1000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

async function rowB(client: Client, base: string, hydrate: Hydrate | undefined): Promise<WorldResult['b']> {
  const observed: number[] = [];
  const completed: number[] = [];
  for (let i = -1; i < PARAMS.hookRuns; i++) {
    const token = `wfr-bench-${process.pid}-${Date.now().toString(36)}-${i + 1}`;
    const runId = await client.invoke('workflows/hooks.ts', 'collectWithHook', [token, 'bench']);
    const watch = new StreamWatch(`${base}/runs/${encodeURIComponent(runId)}/readable`);
    try {
      await watch.waitFor((o) => o?.event === 'hookCreated', 'hookCreated');
      await sleep(PARAMS.idleMs); // the run suspends on the hook: the resume finds no flow invocation in progress
      const payload = `payload ${i + 1}`;
      const t0 = now();
      await client.resumeHook(token, { data: payload, done: true });
      const seenAt = await watch.waitFor((o) => o?.event === 'hookResumed' && o?.payload?.data === payload, 'hookResumed');
      const { run, at } = await client.waitDone(runId, PARAMS.pollMs);
      if (hydrate && run.output) {
        const out = (await hydrate(run.output, runId, undefined)) as { collected?: { data?: unknown }[] };
        if (out?.collected?.[0]?.data !== payload) throw new Error(`collectWithHook ${runId} returned ${JSON.stringify(out)}, expected ${JSON.stringify(payload)}`);
      }
      if (i >= 0) {
        // the first run is a warm-up
        observed.push(seenAt - t0);
        completed.push(at - t0);
      }
    } finally {
      watch.close();
    }
  }
  return {
    p50Ms: median(observed),
    p95Ms: percentile(observed, 0.95),
    completedP50Ms: median(completed),
    completedP95Ms: percentile(completed, 0.95),
    n: observed.length,
    samplesMs: observed.map(round2),
    completedSamplesMs: completed.map(round2),
  };
}

async function rowC(client: Client, pid: number | undefined, storePid: number | undefined): Promise<WorldResult['c']> {
  const lat: number[] = [];
  const runs: RunRecord[] = [];
  let next = 0;
  const polls0 = client.polls;
  const cpu0 = processCpuMs(pid);
  const storeCpu0 = processCpuMs(storePid);
  const t0 = now();
  await Promise.all(
    Array.from({ length: PARAMS.concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= PARAMS.burst) return;
        const s = now();
        const runId = await client.invoke('workflows/addition.ts', 'addition', [i, 1]);
        const { run, at } = await client.waitDone(runId, PARAMS.burstPollMs);
        lat.push(at - s);
        runs.push(run);
      }
    }),
  );
  const wallMs = now() - t0;
  const cpuMs = processCpuMs(pid) - cpu0;
  const storeCpuMs = processCpuMs(storePid) - storeCpu0;
  const first = Math.min(...runs.map((r) => Date.parse(r.createdAt)));
  const last = Math.max(...runs.map((r) => (r.completedAt ? Date.parse(r.completedAt) : NaN)));
  return {
    runs: PARAMS.burst,
    concurrency: PARAMS.concurrency,
    wallS: wallMs / 1000,
    runsPerSec: PARAMS.burst / (wallMs / 1000),
    latencyP50Ms: median(lat),
    latencyP95Ms: percentile(lat, 0.95),
    worldReportedSpanS: (last - first) / 1000,
    serverCpuMsPerRun: cpuMs / PARAMS.burst,
    ...(storePid !== undefined ? { storeCpuMsPerRun: storeCpuMs / PARAMS.burst } : {}),
    polls: client.polls - polls0,
  };
}

async function rowD(client: Client, pid: number | undefined): Promise<WorldResult['d']> {
  const out: NonNullable<WorldResult['d']> = {};
  await client.waitDone(await client.invoke('workflows/signal-cost.ts', 'signalCostWorkflow', [{ count: 3, withSignal: false }]), PARAMS.pollMs);
  for (const count of STEP_COUNTS) {
    const samples: number[] = [];
    const cpu0 = processCpuMs(pid);
    for (let i = 0; i < PARAMS.stepRuns; i++) {
      const t0 = now();
      const runId = await client.invoke('workflows/signal-cost.ts', 'signalCostWorkflow', [{ count, withSignal: false }]);
      const { at } = await client.waitDone(runId, PARAMS.pollMs);
      samples.push(at - t0);
    }
    const cpuMs = processCpuMs(pid) - cpu0;
    const p50 = median(samples);
    out[String(count)] = { steps: count, runMsP50: p50, msPerStep: p50 / count, serverCpuMsPerStep: cpuMs / (count * PARAMS.stepRuns), samplesMs: samples.map(round2) };
  }
  return out;
}

const PACKAGE: Record<WorldName, string> = {
  redis: 'workflow-redis/world',
  local: '@workflow/world-local',
  postgres: '@workflow/world-postgres',
};

async function benchWorld(world: WorldName, baseEnv: NodeJS.ProcessEnv, hydrate: Hydrate | undefined): Promise<WorldResult> {
  const version =
    world === 'redis'
      ? (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
      : (installedVersion(BENCH_DIR, PACKAGE[world]) ?? 'unknown');
  const result: WorldResult = { world, package: PACKAGE[world], version, setup: '' };
  let prepared: Prepared | undefined;
  let server: Server | undefined;
  try {
    prepared = await prepare(world, baseEnv);
    result.setup = prepared.describe;
    console.log(`\n[${world}] ${PACKAGE[world]}@${version}: ${prepared.describe}`);
    server = await startServer(prepared.target, prepared.env);
    const base = server.base;
    const pid = server.proc.pid;
    const client = new Client(base);
    const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
      const t = now();
      const r = await fn();
      console.log(`[${world}] ${name} done in ${((now() - t) / 1000).toFixed(1)} s`);
      return r;
    };
    result.a = await step(`(a) ${PARAMS.runs} × addition`, () => rowA(client));
    result.b = await step(`(b) ${PARAMS.hookRuns} × hook resume`, () => rowB(client, base, hydrate));
    result.c = await step(`(c) ${PARAMS.burst} runs at ${PARAMS.concurrency} concurrent`, () => rowC(client, pid, prepared?.storePid));
    result.d = await step(`(d) ${STEP_COUNTS.join(' and ')} sequential steps × ${PARAMS.stepRuns}`, () => rowD(client, pid));
  } catch (err) {
    result.error = (err as Error).message;
    console.error(`[${world}] failed: ${result.error}${server ? `\nserver output (last lines):\n${server.tail.text()}` : ''}`);
  } finally {
    await server?.stop();
    await prepared?.cleanup();
  }
  return result;
}

// ---------------------------------------------------------------- main

async function main(): Promise<void> {
  const { worlds: wanted, explicit } = worldsArg();
  ensureInstalled(BENCH_DIR, 'wfr-world-bench', BENCH_DEPS);
  const nodeOptions = polyfillNodeOptions(BENCH_DIR);
  // The polyfill in this process too (the runtime's deserialiser may use it).
  await import(pathToFileURL(join(BENCH_DIR, 'with-resolvers.mjs')).href);
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: nodeOptions };
  delete baseEnv.WORKFLOW_TARGET_WORLD;

  let hydrate: Hydrate | undefined;
  try {
    const mod = (await import(pathToFileURL(join(BENCH_DIR, 'node_modules', '@workflow', 'core', 'dist', 'serialization.js')).href)) as {
      hydrateWorkflowReturnValue?: Hydrate;
    };
    hydrate = mod.hydrateWorkflowReturnValue;
  } catch {
    hydrate = undefined; // the hook row then checks completion only
  }

  const skipped: Record<string, string> = {};
  const worlds: WorldName[] = [];
  let postgresVersion: string | undefined;
  for (const w of wanted) {
    if (w === 'postgres') {
      postgresVersion = await postgresReachable();
      if (!postgresVersion) {
        skipped.postgres = `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL.replace(/\/\/[^@]*@/, '//***@')} (set BENCH_POSTGRES_URL)`;
        if (explicit) throw new Error(skipped.postgres);
        continue;
      }
    }
    worlds.push(w);
  }
  const runtime = installedVersion(BENCH_DIR, 'workflow');
  console.log(
    `World benchmark: workflow@${runtime} runtime, the suite's server and workflows (@workflow/world-testing@${BENCH_DEPS['@workflow/world-testing']}), ` +
      `node ${process.version}, ${cpus().length} CPUs, load ${loadavg().map((x) => x.toFixed(1)).join(' ')}`,
  );
  console.log(`worlds: ${worlds.join(', ')}${Object.keys(skipped).length ? `; skipped: ${Object.entries(skipped).map(([k, v]) => `${k} (${v})`).join('; ')}` : ''}`);
  console.log(`params: ${JSON.stringify(PARAMS)}`);

  const results: WorldResult[] = [];
  for (const w of worlds) results.push(await benchWorld(w, baseEnv, hydrate));

  // ------------------------------------------------------------ table
  type Row = { label: string; get: (r: WorldResult) => number | undefined; digits: number; higherIsBetter?: boolean };
  const rows: Row[] = [
    { label: `(a) invoke → completed, p50 ms (n=${PARAMS.runs})`, get: (r) => r.a?.p50Ms, digits: 1 },
    { label: '(a) invoke → completed, p95 ms', get: (r) => r.a?.p95Ms, digits: 1 },
    { label: '(a) the World\'s completedAt − createdAt, p50 ms', get: (r) => r.a?.worldReportedP50Ms, digits: 1 },
    { label: `(b) idle hook resume → payload seen, p50 ms (n=${PARAMS.hookRuns})`, get: (r) => r.b?.p50Ms, digits: 1 },
    { label: '(b) idle hook resume → payload seen, p95 ms', get: (r) => r.b?.p95Ms, digits: 1 },
    { label: '(b) idle hook resume → run completed, p50 ms', get: (r) => r.b?.completedP50Ms, digits: 1 },
    { label: `(c) ${PARAMS.burst} runs at ${PARAMS.concurrency} concurrent, runs/s`, get: (r) => r.c?.runsPerSec, digits: 1, higherIsBetter: true },
    { label: '(c) wall time, s', get: (r) => r.c?.wallS, digits: 2 },
    { label: '(c) app server CPU per run, ms', get: (r) => r.c?.serverCpuMsPerRun, digits: 1 },
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} sequential steps, ms/step (p50 run / ${n})`, get: (r: WorldResult) => r.d?.[String(n)]?.msPerStep, digits: 2 })),
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} sequential steps, run p50 ms`, get: (r: WorldResult) => r.d?.[String(n)]?.runMsP50, digits: 0 })),
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} steps: app server CPU per step, ms`, get: (r: WorldResult) => r.d?.[String(n)]?.serverCpuMsPerStep, digits: 1 })),
  ];
  const redis = results.find((r) => r.world === 'redis' && !r.error);
  const others = results.filter((r) => r.world !== 'redis');
  const W = 58;
  const header =
    pad('row', W) +
    results.map((r) => pad(r.world, 11, true)).join('') +
    (redis ? others.map((o) => pad(`redis/${o.world}`, 16, true)).join('') : '');
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  const ratios: Record<string, Record<string, number>> = {};
  for (const row of rows) {
    let line = pad(row.label, W) + results.map((r) => pad(fmt(row.get(r), row.digits), 11, true)).join('');
    if (redis) {
      for (const o of others) {
        const ratio = (row.get(redis) ?? NaN) / (row.get(o) ?? NaN);
        line += pad(fmt(ratio, 2), 16, true);
        if (Number.isFinite(ratio)) (ratios[row.label] ??= {})[o.world] = round2(ratio);
      }
    }
    console.log(line);
  }
  for (const r of results) if (r.error) console.log(`${r.world}: failed (${r.error.split('\n')[0]})`);
  for (const [w, why] of Object.entries(skipped)) console.log(`${w}: skipped (${why})`);
  console.log(
    'Latency rows poll GET /runs/:id every ' +
      `${PARAMS.pollMs} ms (row c: every ${PARAMS.burstPollMs} ms per run in flight); ratios < 1 mean redis is faster, except runs/s (> 1).`,
  );

  const out = {
    benchmark: 'world',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, platform: process.platform, arch: process.arch, loadavgAtStart: loadavg() },
    versions: {
      workflow: runtime,
      worldTesting: installedVersion(BENCH_DIR, '@workflow/world-testing'),
      world: installedVersion(BENCH_DIR, '@workflow/world'),
      worldLocal: installedVersion(BENCH_DIR, '@workflow/world-local'),
      worldPostgres: installedVersion(BENCH_DIR, '@workflow/world-postgres'),
      postgresServer: postgresVersion,
    },
    params: { ...PARAMS, stepCounts: STEP_COUNTS, worlds, skipped },
    notes: [
      "One server per world: @workflow/world-testing's dist/src/server.mjs with WORKFLOW_TARGET_WORLD, its prebuilt workflows, driven over HTTP.",
      'Completion is observed by polling GET /runs/:id (world.runs.get); latencies are client-side from the POST to the first poll that sees completed.',
      "(a) addition(1,2); (b) collectWithHook(token), resumed {data, done:true} after it wrote hookCreated to its stream and stayed idle idleMs: b.p50Ms = resume → its hookResumed line on the stream, b.completed* = resume → completed; (c) addition from N clients in a closed loop; (d) signalCostWorkflow({count, withSignal:false}).",
      'worldReported*: completedAt - createdAt from the World’s own run records (no polling delay).',
      'serverCpu*: user+system CPU of the app server process (the runtime, the workflows, the World’s client side and the GET /runs polls), from /proc; redis-server and PostgreSQL are not counted.',
    ],
    results,
    ratios,
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'world.json'), JSON.stringify(out, null, 2) + '\n');
  console.log('\nwrote bench-results/world.json');
  const failedExplicit = results.some((r) => r.error && (explicit || r.world !== 'redis'));
  if (failedExplicit) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
