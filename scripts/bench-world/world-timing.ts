/**
 * scripts/bench-world.ts: the World-timing wrapper.
 *
 * `writeTimedWorldModule` writes `<cache>/wfr-timed-<world>.mjs`, the module
 * the suite's server loads (`WORKFLOW_TARGET_WORLD=./wfr-timed-<world>.mjs`).
 * It imports the real World module, picks its factory the way
 * `@workflow/core`'s `createWorldFromModule` does (`createWorld`,
 * `createLocalWorld`, `createVercelWorld`, a default function, a default
 * object) and returns a copy of the World (same prototype, same property
 * descriptors) in which every method of `runs`, `steps`, `events`, `hooks`,
 * `streams`, and `queue`, `getDeploymentId`, `getEncryptionKeyForRun`,
 * `resolveLatestDeploymentId`, are replaced by a pass-through that calls the
 * original on its own object with the same arguments and returns its result
 * unchanged (the same promise object), and notes the time until that promise
 * settles. Everything else (`specVersion`, `streamFlushIntervalMs`,
 * `createQueueHandler`, `createRunId`, `start`, `close`...) is the World's own.
 *
 * Calls made directly by the suite's server routes (`GET /runs/:id` →
 * `runs.get`, `GET /runs/:id/events` → `events.list`: the benchmark's
 * completion polls) are told apart by their caller's file (one V8 call site,
 * `Error.captureStackTrace` with a limit of 1) and counted under `observer`,
 * not in the World's time.
 *
 * Counters are served as JSON on `GET http://127.0.0.1:<port>/stats` (`?reset=1`
 * returns them and starts a new window); the port is written, once listening,
 * to the file named by `WFR_BENCH_WORLD_STATS_FILE`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, sleep } from './common.js';

export interface MethodStats {
  calls: number;
  /** Sum of the calls' durations (call → its promise settled), ms. */
  ms: number;
  maxMs: number;
  /** The median and 95th percentile of one call's duration (robust to a call that waited for a busy event loop). */
  p50Ms: number;
  p95Ms: number;
  errors: number;
}

/** What the wrapper answers on /stats: one window (since the last reset). */
export interface RawStats {
  windowMs: number;
  /** Wall time with at least one (non-observer) World call in flight, ms. */
  busyMs: number;
  inFlight: number;
  methods: Record<string, MethodStats>;
  observer: Record<string, MethodStats>;
}

/** A row's World time, with the per-unit figures (unit: a run or a step). */
export interface WorldTime {
  unit: 'run' | 'step';
  n: number;
  msPer: number;
  callsPer: number;
  busyMsPer: number;
  /** Σ over methods of (calls per unit × the method's median call duration): World time per unit without the outliers. */
  typicalMsPer: number;
  totalMs: number;
  calls: number;
  busyMs: number;
  windowMs: number;
  /** By method, sorted by time; ms and calls in total (not per unit). */
  methods: Record<string, MethodStats>;
  observer: Record<string, MethodStats>;
}

const r3 = (x: number) => Math.round(x * 1000) / 1000;

export function worldTime(raw: RawStats, n: number, unit: 'run' | 'step'): WorldTime {
  const entries = Object.entries(raw.methods).sort((a, b) => b[1].ms - a[1].ms);
  const totalMs = entries.reduce((s, [, m]) => s + m.ms, 0);
  const calls = entries.reduce((s, [, m]) => s + m.calls, 0);
  const tidy = (m: MethodStats): MethodStats => ({ calls: m.calls, ms: r3(m.ms), maxMs: r3(m.maxMs), p50Ms: r3(m.p50Ms), p95Ms: r3(m.p95Ms), errors: m.errors });
  return {
    unit,
    n,
    msPer: totalMs / n,
    callsPer: calls / n,
    busyMsPer: raw.busyMs / n,
    typicalMsPer: entries.reduce((s, [, m]) => s + m.calls * m.p50Ms, 0) / n,
    totalMs: r3(totalMs),
    calls,
    busyMs: r3(raw.busyMs),
    windowMs: r3(raw.windowMs),
    methods: Object.fromEntries(entries.map(([k, m]) => [k, tidy(m)])),
    observer: Object.fromEntries(Object.entries(raw.observer).map(([k, m]) => [k, tidy(m)])),
  };
}

/** Reads one server's counters (the wrapper's /stats). */
export class StatsClient {
  private base: string | undefined;
  constructor(private readonly file: string) {}

  /** Waits for the wrapper to write its port (it does at import, before the server listens). */
  async ready(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (existsSync(this.file)) {
        try {
          const { port } = JSON.parse(readFileSync(this.file, 'utf8')) as { port: number };
          this.base = `http://127.0.0.1:${port}`;
          return;
        } catch {
          // written but not complete yet
        }
      }
      if (Date.now() > deadline) throw new Error(`the World-timing wrapper wrote no port to ${this.file}`);
      await sleep(50);
    }
  }

  /** The counters since the last reset; `reset` starts a new window. */
  async read(reset: boolean): Promise<RawStats> {
    if (!this.base) throw new Error('StatsClient.read before ready()');
    const res = await fetch(`${this.base}/stats${reset ? '?reset=1' : ''}`);
    if (!res.ok) throw new Error(`World stats: ${res.status}`);
    return (await res.json()) as RawStats;
  }
}

/**
 * Writes the wrapper for the World module `specifier` (a package name resolved
 * from the cache folder, or a file URL); returns the `./` target the suite's
 * server resolves against its cwd.
 */
export function writeTimedWorldModule(name: string, specifier: string): string {
  const file = `wfr-timed-${name}.mjs`;
  writeFileSync(join(BENCH_DIR, file), wrapperSource(specifier));
  return `./${file}`;
}

function wrapperSource(specifier: string): string {
  return `// Written by scripts/bench-world (world-timing.ts): the World of ${specifier}, every async method timed; a pure pass-through.
import * as real from ${JSON.stringify(specifier)};
import { createServer } from 'node:http';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const NAMESPACES = ['runs', 'steps', 'events', 'hooks', 'streams'];
const TOP_METHODS = ['queue', 'getDeploymentId', 'getEncryptionKeyForRun', 'resolveLatestDeploymentId'];
const SERVER_FILE = '/@workflow/world-testing/dist/src/server.mjs';

let stats;
let inFlight = 0;
let busySince = 0;
function newWindow() {
  return { since: performance.now(), busyMs: 0, methods: Object.create(null), observer: Object.create(null) };
}
function snapshot(s, t) {
  const busyMs = s.busyMs + (inFlight > 0 ? t - Math.max(busySince, s.since) : 0);
  return { windowMs: t - s.since, busyMs, inFlight, methods: summary(s.methods), observer: summary(s.observer) };
}
stats = newWindow();

/** True when the function calling \`fn\` is in the suite's server file (its own routes: the benchmark's polls). */
function calledByServer(fn) {
  const prepare = Error.prepareStackTrace;
  const limit = Error.stackTraceLimit;
  const holder = {};
  try {
    Error.stackTraceLimit = 1;
    Error.prepareStackTrace = (_err, sites) => sites;
    Error.captureStackTrace(holder, fn);
    const sites = holder.stack;
    const file = Array.isArray(sites) && sites[0] ? String(sites[0].getFileName() ?? '') : '';
    return file.endsWith(SERVER_FILE);
  } catch {
    return false;
  } finally {
    Error.prepareStackTrace = prepare;
    Error.stackTraceLimit = limit;
  }
}

const MAX_SAMPLES = 20000;
function record(table, name, ms, failed) {
  const m = table[name] ?? (table[name] = { calls: 0, ms: 0, maxMs: 0, errors: 0, samples: [] });
  m.calls++;
  m.ms += ms;
  if (ms > m.maxMs) m.maxMs = ms;
  if (failed) m.errors++;
  if (m.samples.length < MAX_SAMPLES) m.samples.push(ms);
}
function summary(table) {
  const out = {};
  for (const [name, m] of Object.entries(table)) {
    const s = m.samples.slice().sort((a, b) => a - b);
    const at = (q) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : 0);
    out[name] = { calls: m.calls, ms: m.ms, maxMs: m.maxMs, errors: m.errors, p50Ms: at(0.5), p95Ms: at(0.95) };
  }
  return out;
}

function timed(name, fn, self) {
  const wrapped = function (...args) {
    const observer = calledByServer(wrapped);
    const t0 = performance.now();
    if (!observer && inFlight++ === 0) busySince = t0;
    const end = (failed) => {
      const t = performance.now();
      if (observer) {
        record(stats.observer, name, t - t0, failed);
        return;
      }
      record(stats.methods, name, t - t0, failed);
      if (--inFlight === 0) stats.busyMs += t - Math.max(busySince, stats.since);
    };
    let result;
    try {
      result = fn.apply(self, args);
    } catch (err) {
      end(true);
      throw err;
    }
    if (result !== null && (typeof result === 'object' || typeof result === 'function') && typeof result.then === 'function') {
      result.then(() => end(false), () => end(true));
    } else {
      end(false);
    }
    return result;
  };
  return wrapped;
}

function define(obj, key, value) {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  Object.defineProperty(obj, key, { value, writable: true, configurable: true, enumerable: d ? d.enumerable : true });
}

/** Function-valued properties of \`obj\` (own and inherited, not Object.prototype's). */
function methodKeys(obj) {
  const keys = new Set();
  for (let o = obj; o && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Object.getOwnPropertyNames(o)) {
      if (key === 'constructor') continue;
      const d = Object.getOwnPropertyDescriptor(o, key);
      if (d && typeof d.value === 'function') keys.add(key);
    }
  }
  return [...keys];
}

function copyOf(obj) {
  return Object.create(Object.getPrototypeOf(obj), Object.getOwnPropertyDescriptors(obj));
}

function instrument(world) {
  const out = copyOf(world);
  for (const ns of NAMESPACES) {
    const target = world[ns];
    if (target === null || typeof target !== 'object') continue;
    const copy = copyOf(target);
    for (const key of methodKeys(target)) define(copy, key, timed(ns + '.' + key, target[key], target));
    define(out, ns, copy);
  }
  for (const key of TOP_METHODS) {
    if (typeof world[key] === 'function') define(out, key, timed(key, world[key], world));
  }
  return out;
}

/** The factory @workflow/core's createWorldFromModule would call. */
function factoryOf(mod) {
  if (typeof mod.createWorld === 'function') return () => mod.createWorld();
  if (typeof mod.createLocalWorld === 'function') return () => mod.createLocalWorld();
  if (typeof mod.createVercelWorld === 'function') return () => mod.createVercelWorld();
  if (typeof mod.default === 'function') return () => mod.default();
  if (mod.default && typeof mod.default === 'object') return () => mod.default;
  throw new Error('Invalid target world module: must export createWorld(), a default factory, or a default World instance.');
}
const factory = factoryOf(real);

export async function createWorld() {
  return instrument(await factory());
}

const statsFile = process.env.WFR_BENCH_WORLD_STATS_FILE;
if (statsFile) {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname !== '/stats') {
      res.statusCode = 404;
      res.end();
      return;
    }
    const t = performance.now();
    const snap = snapshot(stats, t);
    if (url.searchParams.get('reset') === '1') {
      stats = newWindow();
      if (inFlight > 0) busySince = stats.since;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(snap));
  });
  server.listen(0, '127.0.0.1', () => writeFileSync(statsFile, JSON.stringify({ port: server.address().port, pid: process.pid })));
  server.unref();
}
`;
}
