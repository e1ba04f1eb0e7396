/**
 * scripts/bench-world.ts: the printed table (one column per World, redis/other
 * ratios), the World-time breakdown by method, and bench-results/world.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../world-conformance.js';
import { fmt, pad, PARAMS, round2, STEP_COUNTS, stepRuns, sum, type WorldResult } from './common.js';

type Row = { label: string; get: (r: WorldResult) => number | undefined; digits: number };

const d = (r: WorldResult, n: number) => r.d?.[String(n)];

/** World time of one extra step: (a 100-step run's − a 10-step run's) / 90. */
function marginalStepMs(r: WorldResult): number | undefined {
  const [lo, hi] = STEP_COUNTS;
  const a = d(r, lo)?.worldTime;
  const b = d(r, hi)?.worldTime;
  return a && b ? (b.msPer * hi - a.msPer * lo) / (hi - lo) : undefined;
}

/** The share of the 100-step runs' time during which a World call was in flight. */
function busyShare(r: WorldResult, n: number): number | undefined {
  const x = d(r, n);
  return x?.worldTime ? (100 * x.worldTime.busyMs) / sum(x.samplesMs) : undefined;
}

function rows(): Row[] {
  const [lo, hi] = STEP_COUNTS;
  return [
    { label: `(a) invoke → completed, p50 ms (n=${PARAMS.runs})`, get: (r) => r.a?.p50Ms, digits: 1 },
    { label: '(a) invoke → completed, p95 ms', get: (r) => r.a?.p95Ms, digits: 1 },
    { label: "(a) the World's completedAt − createdAt, p50 ms", get: (r) => r.a?.worldReportedP50Ms, digits: 1 },
    { label: '(a) World time per run, ms', get: (r) => r.a?.worldTime?.msPer, digits: 2 },
    { label: '(a) World time per run, from median call times, ms', get: (r) => r.a?.worldTime?.typicalMsPer, digits: 2 },
    { label: '(a) World calls per run', get: (r) => r.a?.worldTime?.callsPer, digits: 1 },
    { label: `(b) idle hook resume → payload seen, p50 ms (n=${PARAMS.hookRuns})`, get: (r) => r.b?.p50Ms, digits: 1 },
    { label: '(b) idle hook resume → payload seen, p95 ms', get: (r) => r.b?.p95Ms, digits: 1 },
    { label: '(b) idle hook resume → run completed, p50 ms', get: (r) => r.b?.completedP50Ms, digits: 1 },
    { label: '(b) World time per hook run, ms', get: (r) => r.b?.worldTime?.msPer, digits: 1 },
    { label: `(c) ${PARAMS.burst} runs at ${PARAMS.concurrency} concurrent, runs/s (median of ${PARAMS.burstRounds})`, get: (r) => r.c?.runsPerSec, digits: 1 },
    { label: '(c) wall time, s (median round)', get: (r) => r.c?.wallS, digits: 2 },
    { label: '(c) app server CPU per run, ms', get: (r) => r.c?.serverCpuMsPerRun, digits: 1 },
    { label: '(c) World time per run, ms (concurrent calls add up)', get: (r) => r.c?.worldTime?.msPer, digits: 1 },
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} sequential steps, ms/step (p50 run / ${n}, n=${stepRuns(n)})`, get: (r: WorldResult) => d(r, n)?.msPerStep, digits: 2 })),
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} sequential steps, run p50 ms`, get: (r: WorldResult) => d(r, n)?.runMsP50, digits: 0 })),
    ...STEP_COUNTS.map((n) => ({ label: `(d) ${n} steps: app server CPU per step, ms`, get: (r: WorldResult) => d(r, n)?.serverCpuMsPerStep, digits: 1 })),
    ...STEP_COUNTS.map((n) => ({ label: `(d) World time per step (${n} steps), ms`, get: (r: WorldResult) => d(r, n)?.worldTime?.msPer, digits: 2 })),
    { label: `(d) World time per extra step (${hi} vs ${lo} steps), ms`, get: marginalStepMs, digits: 2 },
    { label: `(d) World time per step (${hi}), from median call times, ms`, get: (r) => d(r, hi)?.worldTime?.typicalMsPer, digits: 2 },
    ...STEP_COUNTS.map((n) => ({ label: `(d) World calls per step (${n} steps)`, get: (r: WorldResult) => d(r, n)?.worldTime?.callsPer, digits: 1 })),
    { label: `(d) World call in flight, % of run time (${hi} steps)`, get: (r) => busyShare(r, hi), digits: 1 },
  ];
}

/** Prints the table; returns the ratios (redis / other) by row label. */
export function printTable(results: WorldResult[], skipped: Record<string, string>): Record<string, Record<string, number>> {
  const redis = results.find((r) => r.world === 'redis' && !r.error);
  const others = results.filter((r) => r.world !== 'redis');
  const W = 62;
  const header =
    pad('row', W) + results.map((r) => pad(r.world, 11, true)).join('') + (redis ? others.map((o) => pad(`redis/${o.world}`, 16, true)).join('') : '');
  console.log(`\n${header}\n${'-'.repeat(header.length)}`);
  const ratios: Record<string, Record<string, number>> = {};
  for (const row of rows()) {
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
    `Interleaved: every World's server runs throughout; rows a, b, d alternate one sample per World in rotated order, row c goes World by World in rotation. ` +
      `Latency rows poll GET /runs/:id every ${PARAMS.pollMs} ms (row c: every ${PARAMS.burstPollMs} ms per run in flight); ` +
      'ratios < 1 mean redis is faster or does less, except runs/s (> 1).',
  );
  printBreakdown(results);
  return ratios;
}

/** World time per step by method (the 100-step row), the heaviest methods first. */
function printBreakdown(results: WorldResult[]): void {
  const n = STEP_COUNTS[STEP_COUNTS.length - 1]!;
  const withTime = results.filter((r) => d(r, n)?.worldTime);
  if (withTime.length === 0) return;
  const methods = new Map<string, number>();
  for (const r of withTime) {
    const wt = d(r, n)!.worldTime!;
    for (const [m, s] of Object.entries(wt.methods)) methods.set(m, Math.max(methods.get(m) ?? 0, s.ms / wt.n));
  }
  const W = 34;
  const C = 24;
  console.log(`\nWorld time per step by method (${n} steps): ms per step / calls per step / median ms per call`);
  const header = pad('method', W) + withTime.map((r) => pad(r.world, C, true)).join('');
  console.log(`${header}\n${'-'.repeat(header.length)}`);
  for (const [m] of [...methods].sort((a, b) => b[1] - a[1])) {
    const cells = withTime.map((r) => {
      const wt = d(r, n)!.worldTime!;
      const s = wt.methods[m];
      return pad(s ? `${(s.ms / wt.n).toFixed(2)} / ${(s.calls / wt.n).toFixed(2)} / ${s.p50Ms.toFixed(2)}` : '-', C, true);
    });
    console.log(pad(m, W) + cells.join(''));
  }
  const polls = withTime.map((r) => {
    const wt = d(r, n)!.worldTime!;
    return pad(`${sum(Object.values(wt.observer).map((s) => s.calls))} calls`, C, true);
  });
  console.log(pad("bench's own polls (not counted)", W) + polls.join(''));
}

export interface ReportMeta {
  versions: Record<string, string | undefined>;
  worlds: string[];
  skipped: Record<string, string>;
  loadavgAtStart: number[];
}

export function writeJson(results: WorldResult[], ratios: Record<string, Record<string, number>>, meta: ReportMeta): string {
  const out = {
    benchmark: 'world',
    date: new Date().toISOString(),
    node: process.version,
    machine: { cpus: cpus().length, platform: process.platform, arch: process.arch, loadavgAtStart: meta.loadavgAtStart, loadavgAtEnd: loadavg() },
    versions: meta.versions,
    params: { ...PARAMS, stepCounts: STEP_COUNTS, worlds: meta.worlds, skipped: meta.skipped },
    notes: [
      "One server per world, all up for the whole run: @workflow/world-testing's dist/src/server.mjs with WORKFLOW_TARGET_WORLD, its prebuilt workflows, driven over HTTP.",
      'Interleaved: rows a, b, d take one sample per World per iteration, the World order rotated each iteration; row c runs World by World, burstRounds rounds in rotated order, median runs/s (the other c figures are the median round’s; every round is in c.rounds).',
      'Completion is observed by polling GET /runs/:id (world.runs.get); latencies are client-side from the POST to the first poll that sees completed.',
      "(a) addition(i,2); (b) collectWithHook(token), resumed {data, done:true} after it wrote hookCreated to its stream and stayed idle idleMs: b.p50Ms = resume → its hookResumed line on the stream, b.completed* = resume → completed; (c) addition from N clients in a closed loop; (d) signalCostWorkflow({count, withSignal:false}).",
      'worldReported*: completedAt - createdAt from the World’s own run records (no polling delay).',
      'serverCpu*: user+system CPU of the app server process (the runtime, the workflows, the World’s client side and the GET /runs polls), from /proc; redis-server and PostgreSQL are not counted. Row d samples it around each of the World’s own runs.',
      'worldTime: the World loaded through a pass-through wrapper (.cache/world-bench/wfr-timed-<world>.mjs) timing every async method of runs/steps/events/hooks/streams and queue/getDeploymentId: totalMs = sum of call → promise settled over the row (concurrent calls add up), busyMs = wall time with a call in flight, typicalMsPer = Σ calls × the method’s median call duration (robust to calls that waited for a busy event loop), msPer/callsPer/busyMsPer per run or per step (n), methods = by method. Calls made by the suite server’s own routes (the benchmark’s GET /runs/:id polls → runs.get) are under observer, not counted. Durations include waiting for the event loop when the runtime keeps it busy.',
    ],
    results,
    ratios,
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'world.json');
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  return file;
}
