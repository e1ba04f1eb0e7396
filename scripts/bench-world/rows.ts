/**
 * scripts/bench-world.ts: the rows, measured on every World at once.
 *
 * Every World's server is up for the whole run. Latency rows (a, b, d) are
 * interleaved: iteration i runs one sample on each World, in an order rotated
 * by i (redis, local, postgres; then local, postgres, redis; ...), so load
 * that comes and goes on the machine falls on every World alike; figures are
 * medians. The burst row (c) loads one World at a time, so its rounds go World
 * by World, in rotated order, `--burst-rounds` times (median runs/s).
 *
 * Around each row (each burst round for c) the World-timing counters of every
 * server are reset, and read `--settle-ms` after its last run: time and calls
 * the runtime spent awaiting the World during that row, over that row's runs.
 */
import {
  median,
  now,
  PARAMS,
  percentile,
  processCpuMs,
  rotated,
  round2,
  sleep,
  STEP_COUNTS,
  stepRuns,
  sum,
  type BurstRound,
  type WorldResult,
} from './common.js';
import { StreamWatch, type Hydrate, type RunRecord } from './server.js';
import { worldTime, type RawStats } from './world-timing.js';
import type { LiveWorld } from './worlds.js';

function fail(w: LiveWorld, what: string, err: unknown): void {
  w.failed = true;
  w.result.error = `${what}: ${(err as Error).message}`;
  console.error(`[${w.name}] failed in ${what}: ${(err as Error).message}\nserver output (last lines):\n${w.server.tail.text()}`);
}

/** `iterations` rounds; in round i each World still in the run does `fn(w, i)`, in the order rotated by i. */
async function interleave(worlds: LiveWorld[], what: string, iterations: number, fn: (w: LiveWorld, i: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < iterations; i++) {
    for (const w of rotated(worlds, i)) {
      if (w.failed) continue;
      try {
        await fn(w, i);
      } catch (err) {
        fail(w, what, err);
      }
    }
  }
}

async function resetStats(worlds: LiveWorld[]): Promise<void> {
  await Promise.all(worlds.filter((w) => !w.failed && w.stats).map((w) => w.stats!.read(true).catch(() => undefined)));
}

/** The counters since the last reset, `settleMs` after the row (undefined without the wrapper or for a failed World). */
async function readStats(worlds: LiveWorld[]): Promise<Map<LiveWorld, RawStats>> {
  await sleep(PARAMS.settleMs);
  const out = new Map<LiveWorld, RawStats>();
  for (const w of worlds) {
    if (w.failed || !w.stats) continue;
    const raw = await w.stats.read(true).catch(() => undefined);
    if (raw) out.set(w, raw);
  }
  return out;
}

async function measured(worlds: LiveWorld[], what: string, body: () => Promise<void>): Promise<Map<LiveWorld, RawStats>> {
  await resetStats(worlds);
  const t = now();
  await body();
  const raw = await readStats(worlds);
  console.log(`${what} done in ${((now() - t) / 1000).toFixed(1)} s`);
  return raw;
}

const worldSpanMs = (run: RunRecord) => (run.completedAt ? Date.parse(run.completedAt) - Date.parse(run.createdAt) : NaN);

async function hookCycle(w: LiveWorld, n: number, hydrate: Hydrate | undefined): Promise<{ observed: number; completed: number }> {
  const token = `wfr-bench-${process.pid}-${w.name}-${Date.now().toString(36)}-${n}`;
  const runId = await w.client.invoke('workflows/hooks.ts', 'collectWithHook', [token, 'bench']);
  const watch = new StreamWatch(`${w.server.base}/runs/${encodeURIComponent(runId)}/readable`);
  try {
    await watch.waitFor((o) => o?.event === 'hookCreated', 'hookCreated');
    await sleep(PARAMS.idleMs); // the run suspends on the hook: the resume finds no flow invocation in progress
    const payload = `payload ${n}`;
    const t0 = now();
    await w.client.resumeHook(token, { data: payload, done: true });
    const seenAt = await watch.waitFor((o) => o?.event === 'hookResumed' && o?.payload?.data === payload, 'hookResumed');
    const { run, at } = await w.client.waitDone(runId, PARAMS.pollMs);
    if (hydrate && run.output) {
      const out = (await hydrate(run.output, runId, undefined)) as { collected?: { data?: unknown }[] };
      if (out?.collected?.[0]?.data !== payload) throw new Error(`collectWithHook ${runId} returned ${JSON.stringify(out)}, expected ${JSON.stringify(payload)}`);
    }
    return { observed: seenAt - t0, completed: at - t0 };
  } finally {
    watch.close();
  }
}

const stepRun = (w: LiveWorld, count: number) =>
  w.client.invoke('workflows/signal-cost.ts', 'signalCostWorkflow', [{ count, withSignal: false }]).then((id) => w.client.waitDone(id, PARAMS.pollMs));

/** Warm-up on every World (not measured): additions, a 3-step run, one hook cycle. */
export async function warmUp(worlds: LiveWorld[], hydrate: Hydrate | undefined): Promise<void> {
  await measured(worlds, `warm-up (${PARAMS.warmup} × addition, 3 steps, 1 hook cycle per World)`, () =>
    interleave(worlds, 'warm-up', 1, async (w) => {
      for (let i = 0; i < PARAMS.warmup; i++) await w.client.waitDone(await w.client.invoke('workflows/addition.ts', 'addition', [1, 2]), PARAMS.pollMs);
      await stepRun(w, 3);
      await hookCycle(w, 0, hydrate);
    }),
  );
}

/** (a) addition(i, 2), one run at a time per World, interleaved. */
export async function rowA(worlds: LiveWorld[]): Promise<void> {
  const lat = new Map<LiveWorld, number[]>();
  const reported = new Map<LiveWorld, number[]>();
  const raw = await measured(worlds, `(a) ${PARAMS.runs} × addition per World`, () =>
    interleave(worlds, '(a) addition', PARAMS.runs, async (w, i) => {
      const t0 = now();
      const runId = await w.client.invoke('workflows/addition.ts', 'addition', [i, 2]);
      const { run, at } = await w.client.waitDone(runId, PARAMS.pollMs);
      (lat.get(w) ?? lat.set(w, []).get(w)!).push(at - t0);
      (reported.get(w) ?? reported.set(w, []).get(w)!).push(worldSpanMs(run));
    }),
  );
  for (const w of worlds) {
    const samples = lat.get(w);
    if (w.failed || !samples) continue;
    const stats = raw.get(w);
    w.result.a = {
      p50Ms: median(samples),
      p95Ms: percentile(samples, 0.95),
      n: samples.length,
      samplesMs: samples.map(round2),
      worldReportedP50Ms: median(reported.get(w) ?? []),
      ...(stats ? { worldTime: worldTime(stats, samples.length, 'run') } : {}),
    };
  }
}

/** (b) idle hook resume, interleaved. */
export async function rowB(worlds: LiveWorld[], hydrate: Hydrate | undefined): Promise<void> {
  const samples = new Map<LiveWorld, { observed: number[]; completed: number[] }>();
  const raw = await measured(worlds, `(b) ${PARAMS.hookRuns} × hook resume per World`, () =>
    interleave(worlds, '(b) hook resume', PARAMS.hookRuns, async (w, i) => {
      const r = await hookCycle(w, i + 1, hydrate);
      const s = samples.get(w) ?? samples.set(w, { observed: [], completed: [] }).get(w)!;
      s.observed.push(r.observed);
      s.completed.push(r.completed);
    }),
  );
  for (const w of worlds) {
    const s = samples.get(w);
    if (w.failed || !s) continue;
    const stats = raw.get(w);
    w.result.b = {
      p50Ms: median(s.observed),
      p95Ms: percentile(s.observed, 0.95),
      completedP50Ms: median(s.completed),
      completedP95Ms: percentile(s.completed, 0.95),
      n: s.observed.length,
      samplesMs: s.observed.map(round2),
      completedSamplesMs: s.completed.map(round2),
      ...(stats ? { worldTime: worldTime(stats, s.observed.length, 'run') } : {}),
    };
  }
}

async function burst(w: LiveWorld): Promise<BurstRound> {
  const { client } = w;
  const pid = w.server.proc.pid;
  const lat: number[] = [];
  const runs: RunRecord[] = [];
  let next = 0;
  const polls0 = client.polls;
  const cpu0 = processCpuMs(pid);
  const storeCpu0 = processCpuMs(w.storePid);
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
  const storeCpuMs = processCpuMs(w.storePid) - storeCpu0;
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
    ...(w.storePid !== undefined ? { storeCpuMsPerRun: storeCpuMs / PARAMS.burst } : {}),
    polls: client.polls - polls0,
  };
}

/** (c) bursts, World by World in rotated order, `--burst-rounds` rounds; the median round by runs/s is the row's. */
export async function rowC(worlds: LiveWorld[]): Promise<void> {
  const rounds = new Map<LiveWorld, BurstRound[]>();
  const t = now();
  await interleave(worlds, '(c) burst', PARAMS.burstRounds, async (w) => {
    await resetStats([w]);
    const round = await burst(w);
    const stats = (await readStats([w])).get(w);
    if (stats) round.worldTime = worldTime(stats, round.runs, 'run');
    (rounds.get(w) ?? rounds.set(w, []).get(w)!).push(round);
  });
  console.log(`(c) ${PARAMS.burstRounds} rounds × ${PARAMS.burst} runs at ${PARAMS.concurrency} concurrent per World done in ${((now() - t) / 1000).toFixed(1)} s`);
  for (const w of worlds) {
    const rs = rounds.get(w);
    if (w.failed || !rs?.length) continue;
    const rates = rs.map((r) => r.runsPerSec);
    const mid = [...rs].sort((a, b) => a.runsPerSec - b.runsPerSec)[(rs.length - 1) >> 1]!;
    w.result.c = { ...mid, runsPerSec: median(rates), roundsRunsPerSec: rates.map(round2), rounds: rs };
  }
}

/** (d) signalCostWorkflow({count}) for 10 and 100 steps, interleaved, each count its own row. */
export async function rowD(worlds: LiveWorld[]): Promise<void> {
  for (const count of STEP_COUNTS) {
    const runs = stepRuns(count);
    const samples = new Map<LiveWorld, number[]>();
    const cpu = new Map<LiveWorld, number[]>();
    const raw = await measured(worlds, `(d) ${runs} × ${count} sequential steps per World`, () =>
      interleave(worlds, `(d) ${count} steps`, runs, async (w) => {
        const pid = w.server.proc.pid;
        const cpu0 = processCpuMs(pid);
        const t0 = now();
        const { at } = await stepRun(w, count);
        (samples.get(w) ?? samples.set(w, []).get(w)!).push(at - t0);
        (cpu.get(w) ?? cpu.set(w, []).get(w)!).push(processCpuMs(pid) - cpu0);
      }),
    );
    for (const w of worlds) {
      const s = samples.get(w);
      if (w.failed || !s) continue;
      const stats = raw.get(w);
      const p50 = median(s);
      const d: NonNullable<WorldResult['d']> = (w.result.d ??= {});
      d[String(count)] = {
        steps: count,
        runs: s.length,
        runMsP50: p50,
        msPerStep: p50 / count,
        serverCpuMsPerStep: sum(cpu.get(w) ?? []) / (count * s.length),
        samplesMs: s.map(round2),
        ...(stats ? { worldTime: worldTime(stats, count * s.length, 'step') } : {}),
      };
    }
  }
}
