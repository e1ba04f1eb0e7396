/**
 * The references the codec's property tests compare it with: superjson's own
 * round trip (with the codec's superjson instance, so registered classes and
 * custom types are known), the depth rule of docs and check.ts computed
 * naively (recursively: the generated values are shallow), and the seed.
 * Not a spec file.
 */
import fc from 'fast-check';
import { deserialize } from '../../lib/serialization/codec.js';
import { superjson } from '../../lib/serialization/superjson.js';
import { difference } from './_same.js';

/**
 * The seed of every property: fixed so a run is reproducible, `FC_SEED`
 * overrides it (`FC_SEED=123 npm test`). fast-check prints the seed and the
 * path of a failure; `FC_PATH` replays that path.
 */
export const SEED = process.env.FC_SEED ? Number(process.env.FC_SEED) : 0x5eed16;

/** Runs `prop` with the suite's seed: `runs` cases (scaled by `FC_RUNS_SCALE`, default 1). */
export function check<T>(prop: fc.IPropertyWithHooks<T> | fc.IProperty<T>, runs: number): void {
  const scale = process.env.FC_RUNS_SCALE ? Number(process.env.FC_RUNS_SCALE) : 1;
  fc.assert(prop, {
    seed: SEED,
    numRuns: Math.max(1, Math.round(runs * scale)),
    ...(process.env.FC_PATH ? { path: process.env.FC_PATH } : {}),
  });
}

/** The outcome of a call: its value, or what it threw. */
export type Attempt<T> = { ok: true; value: T } | { ok: false; error: unknown };

export function attempt<T>(fn: () => T): Attempt<T> {
  try {
    return { ok: true, value: fn() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** Whether `read(superjson.stringify(v))` gives `v` back (as `difference` sees it), and why not. */
function faithful(v: unknown, read: (text: string) => unknown, who: string): { faithful: boolean; why: string } {
  const r = attempt(() => read(superjson.stringify(v as never)));
  if (!r.ok) return { faithful: false, why: `${who} throws: ${(r.error as Error).message}` };
  const d = difference(r.value, v);
  return d ? { faithful: false, why: `${who} changes it: ${d}` } : { faithful: true, why: '' };
}

/**
 * Whether `v` could be stored without the codec's check: written by superjson,
 * then read back faithfully both by superjson itself and by the codec's
 * deserialize(). The check may refuse a value only when this is false.
 */
export function storableUnchecked(v: unknown): { faithful: boolean; why: string } {
  const sj = faithful(v, (t) => superjson.parse(t), 'superjson');
  if (!sj.faithful) return sj;
  return faithful(v, (t) => deserialize(t), 'deserialize()');
}

/**
 * The depth of `v` by the codec's rule: scalars and leaf objects 0, arrays,
 * plain objects, Sets, Errors and registered class instances 1 + their
 * deepest member, Maps 2 + theirs; a shared value counts where it is deepest
 * and a reference back to an open container counts 0.
 */
export function referenceDepth(v: unknown): number {
  const done = new Map<object, number>();
  const open = new Set<object>();
  const walk = (x: unknown): number => {
    if (typeof x !== 'object' || x === null) return 0;
    if (open.has(x)) return 0;
    const known = done.get(x);
    if (known !== undefined) return known;
    const proto = Object.getPrototypeOf(x);
    let cost = 1;
    let members: unknown[];
    if (Array.isArray(x)) members = [...x];
    else if (x instanceof Map) {
      cost = 2;
      members = [...x].flat();
    } else if (x instanceof Set) members = [...x];
    else if (x instanceof Error) members = 'cause' in x ? [x.cause] : [];
    else if (proto === Object.prototype || proto === null || superjson.classRegistry.getIdentifier(x.constructor as never)) members = Object.values(x);
    else return 0; // Date, RegExp, URL, bytes: stored as a string
    open.add(x);
    let deepest = 0;
    for (const m of members) deepest = Math.max(deepest, walk(m));
    open.delete(x);
    done.set(x, cost + deepest);
    return cost + deepest;
  };
  return walk(v);
}

/** A string as UTF-8 bytes and back: what a round trip through Redis does to it. */
export function throughUtf8(s: string): string {
  return Buffer.from(s, 'utf8').toString('utf8');
}
