/**
 * The fan-out rows of `npm run bench:resume`: `resumeHooks({ tag })` over 1,
 * 100 and 1,000 live hooks (one run each), time per call and per hook
 * resumed, next to a single `resumeHook` measured in the same way (sequential
 * calls, median). Every run keeps its replay job waiting (no worker), as in
 * the main `resumeHook` row, so each resume takes BullMQ's de-duplication path.
 */
import { performance } from 'node:perf_hooks';
import { resumeHook, resumeHooks } from 'workflow-redis/api';
import { newHookToken, newResumeId } from '../lib/runtime/ids.js';
import type { Store } from '../lib/redis/store.js';
import { serialize } from '../lib/serialization/codec.js';

/** One row: the median time of a resumeHooks call over `hooks` hooks. */
export interface FanOutRow {
  hooks: number;
  calls: number;
  msPerCallP50: number;
  usPerHook: number;
  /** usPerHook / the single resumeHook p50. */
  vsResumeHook: number;
}

const ROUTE = { workflowName: 'bench-fanout', version: '1' };

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

/** A run waiting on one hook with `tag` (created through the store: no worker runs it). */
async function taggedRun(store: Store, tag: string): Promise<string> {
  const runId = `wrun_fan_${newResumeId().replace(/[^A-Za-z0-9]/g, 'x')}`;
  const token = newHookToken();
  await store.createRun({ runId, ...ROUTE, input: serialize([]), data: serialize(ROUTE) });
  const { results } = await store.commit(runId, null, [{ t: 'hook_created', c: 'hook_1', d: serialize({ token }), tk: token, wh: false, tg: [tag] }]);
  if (results[0]?.r !== 'ok') throw new Error(`hook_created was refused: ${JSON.stringify(results)}`);
  return token;
}

/** Runs the fan-out rows; `sizes` hooks per tag. */
export async function fanOutBench(store: Store, sizes = [1, 100, 1000]): Promise<{ resumeHookP50Us: number; rows: FanOutRow[] }> {
  const single = await taggedRun(store, 'fan:single');
  const singleSamples: number[] = [];
  for (let i = 0; i < 1200; i++) {
    const t0 = performance.now();
    await resumeHook(single, { i });
    if (i >= 200) singleSamples.push((performance.now() - t0) * 1000);
  }
  const resumeHookP50Us = median(singleSamples);
  const rows: FanOutRow[] = [];
  for (const n of sizes) {
    const tag = `fan:${n}`;
    for (let made = 0; made < n; made += 64) await Promise.all(Array.from({ length: Math.min(64, n - made) }, () => taggedRun(store, tag)));
    const calls = n >= 1000 ? 15 : n >= 100 ? 50 : 500;
    const warm = Math.max(2, Math.floor(calls / 10));
    const samples: number[] = [];
    for (let i = 0; i < warm + calls; i++) {
      const t0 = performance.now();
      const got = await resumeHooks({ tag }, { i });
      const ms = performance.now() - t0;
      if (got.length !== n) throw new Error(`resumeHooks resumed ${got.length} hooks, expected ${n}`);
      if (i >= warm) samples.push(ms);
    }
    const msPerCallP50 = median(samples);
    const usPerHook = (msPerCallP50 * 1000) / n;
    rows.push({ hooks: n, calls, msPerCallP50, usPerHook, vsResumeHook: usPerHook / resumeHookP50Us });
  }
  return { resumeHookP50Us, rows };
}
