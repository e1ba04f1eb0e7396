/**
 * scripts/bench-world.ts: parameters, the pinned packages, statistics and
 * formatting helpers, and the shape of a World's results.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { intArg } from '../bench-args.js';
import { ROOT } from '../world-conformance.js';
import type { WorldTime } from './world-timing.js';

export const BENCH_DIR = join(ROOT, '.cache', 'world-bench');
export const BENCH_DEPS = {
  '@workflow/world-testing': '5.0.0-beta.35',
  '@workflow/world-local': '5.0.0-beta.29',
  // beta.29 depends on an @workflow/errors version that is not published; beta.27 pins @workflow/world 5.0.0-beta.21 like the suite.
  '@workflow/world-postgres': '5.0.0-beta.27',
};

export const PARAMS = {
  runs: intArg('runs', 20),
  hookRuns: intArg('hook-runs', 30),
  idleMs: intArg('idle-ms', 1000),
  burst: intArg('burst', 200),
  concurrency: intArg('concurrency', 50),
  burstRounds: intArg('burst-rounds', 3),
  /** Runs of the 10-step workflow per World. */
  stepRuns10: intArg('step-runs-10', 10),
  /** Runs of the 100-step workflow per World. */
  stepRuns100: intArg('step-runs-100', 4),
  warmup: intArg('warmup', 3),
  pollMs: intArg('poll-ms', 5),
  burstPollMs: intArg('burst-poll-ms', 50),
  /** Pause after a row before its World counters are read (deliveries finishing after the run was seen completed). */
  settleMs: intArg('settle-ms', 300),
  runTimeoutS: intArg('run-timeout', 120),
  /** 0: load the Worlds without the timing wrapper (the World-time rows are then empty). */
  worldTiming: process.argv.includes('--no-world-timing') || process.env.BENCH_WORLD_TIMING === '0' ? 0 : 1,
};
export const STEP_COUNTS = [10, 100] as const;
export const stepRuns = (count: number) => (count === 10 ? PARAMS.stepRuns10 : PARAMS.stepRuns100);

export type WorldName = 'redis' | 'local' | 'postgres';
export const ALL_WORLDS: WorldName[] = ['redis', 'local', 'postgres'];
export const PACKAGE: Record<WorldName, string> = {
  redis: 'workflow-redis/world',
  local: '@workflow/world-local',
  postgres: '@workflow/world-postgres',
};

export function worldsArg(): { worlds: WorldName[]; explicit: boolean } {
  const i = process.argv.indexOf('--worlds');
  const raw = i >= 0 ? process.argv[i + 1] : process.env.BENCH_WORLDS;
  if (raw === undefined) return { worlds: ALL_WORLDS, explicit: false };
  const worlds = raw.split(',').map((s) => s.trim()).filter(Boolean);
  for (const w of worlds) if (!ALL_WORLDS.includes(w as WorldName)) throw new Error(`--worlds: unknown world ${w} (use ${ALL_WORLDS.join(',')})`);
  return { worlds: worlds as WorldName[], explicit: true };
}

// ---------------------------------------------------------------- helpers

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
export const now = () => performance.now();

export function percentile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]!;
}
export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const round2 = (x: number) => Math.round(x * 100) / 100;
export const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

export function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}
export function fmt(x: number | undefined, digits = 1): string {
  return x !== undefined && Number.isFinite(x) ? x.toFixed(digits) : '-';
}

/** Iteration `i`'s order of `items`: rotated by i, so that no World always goes first (or last). */
export function rotated<T>(items: readonly T[], i: number): T[] {
  const n = items.length;
  return n === 0 ? [] : items.map((_, j) => items[(j + i) % n]!);
}

const CLK_TCK = (() => {
  const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  return Number(r.stdout?.trim()) || 100;
})();

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); NaN elsewhere. */
export function processCpuMs(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK; // utime, stime
  } catch {
    return NaN;
  }
}

// ---------------------------------------------------------------- results

export interface WorldResult {
  world: WorldName;
  package: string;
  version: string;
  setup: string;
  error?: string;
  a?: { p50Ms: number; p95Ms: number; n: number; samplesMs: number[]; worldReportedP50Ms: number; worldTime?: WorldTime };
  /** p50Ms/p95Ms: resume → the workflow's hookResumed line read from its stream; completed*: resume → run completed (polled). */
  b?: {
    p50Ms: number;
    p95Ms: number;
    completedP50Ms: number;
    completedP95Ms: number;
    n: number;
    samplesMs: number[];
    completedSamplesMs: number[];
    worldTime?: WorldTime;
  };
  /** The median round's figures (by runs/s) at the top, every round in `rounds`. */
  c?: BurstRound & { roundsRunsPerSec: number[]; rounds: BurstRound[] };
  d?: Record<
    string,
    {
      steps: number;
      runs: number;
      runMsP50: number;
      msPerStep: number;
      /** Server CPU during this World's own runs only (sampled around each run), per step. */
      serverCpuMsPerStep: number;
      samplesMs: number[];
      worldTime?: WorldTime;
    }
  >;
}

export interface BurstRound {
  runs: number;
  concurrency: number;
  wallS: number;
  runsPerSec: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  worldReportedSpanS: number;
  /** CPU of the app server process (runtime + the World's client side; not redis-server or PostgreSQL) per run. */
  serverCpuMsPerRun: number;
  /** redis-server's CPU per run (private server only). */
  storeCpuMsPerRun?: number;
  polls: number;
  worldTime?: WorldTime;
}
