/**
 * Restores what a stored value shares between places, and its cycles, from
 * superjson's `meta.referentialEqualities`: `deserialize()` applies them here
 * instead of letting superjson do it, because superjson (2.2.6) gets two cases
 * wrong — found by test/serialization/codec-properties.test.ts:
 * - it does not descend into class instances or Errors, so a cycle through one
 *   came back as null and a shared value as two copies;
 * - it puts a shared Set item or Map key back by deleting it and adding it
 *   again, which moves it to the end.
 * Here every container is walked (arrays, objects, class instances, an
 * Error's cause, Sets, Maps), and a Set item or Map key is replaced in place.
 *
 * The format (superjson meta version 1): `{ path: [identical paths] }`, or
 * `[rootPaths]` / `[rootPaths, { ... }]` when the value contains itself.
 * A path is its segments joined by `.`, with `.` and `\` escaped by `\`; a Map
 * takes two segments (the entry's index, then 0 for its key or 1 for its value).
 */
import { SerializationError } from '../errors/errors.js';
import { forbiddenKey } from './check.js';

/** What superjson writes in `meta.referentialEqualities`. */
export type SharedAnnotations = Record<string, string[]> | [string[]] | [string[], Record<string, string[]>];

function corrupt(problem: string): SerializationError {
  return new SerializationError('a stored value', `its shared-reference annotations do not match its data (${problem})`, {
    hint: 'The stored text was not written by workflow-redis, or was altered.',
  });
}

/** The segments of a stored path. */
function parsePath(path: string): string[] {
  const out: string[] = [];
  let seg = '';
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    if (c === '\\') {
      const next = path[++i];
      if (next !== '\\' && next !== '.') throw corrupt('a path has an invalid escape');
      seg += next;
    } else if (c === '.') {
      out.push(seg);
      seg = '';
    } else seg += c;
  }
  out.push(seg);
  return out;
}

/** Index `n` of a stored path segment (a Set item, a Map entry). */
function index(seg: string | undefined, size: number): number {
  const n = Number(seg);
  if (!Number.isInteger(n) || n < 0 || n >= size) throw corrupt('an index is out of range');
  return n;
}

function nth<T>(items: Iterable<T>, n: number): T {
  let i = 0;
  for (const x of items) if (i++ === n) return x;
  throw corrupt('an index is out of range');
}

function property(obj: unknown, key: string): unknown {
  if (forbiddenKey(key)) throw corrupt(`a path has the key "${key}"`);
  if (typeof obj !== 'object' || obj === null) throw corrupt('a path goes through a scalar');
  return (obj as Record<string, unknown>)[key];
}

/** One step down from `cur` along `segs` from `i`: the value there and how many segments it took. */
function step(cur: unknown, segs: string[], i: number): [unknown, number] {
  if (cur instanceof Map) {
    const [k, v] = nth(cur, index(segs[i], cur.size));
    const side = segs[i + 1];
    if (side !== '0' && side !== '1') throw corrupt('a Map path has no key/value segment');
    return [side === '0' ? k : v, 2];
  }
  if (cur instanceof Set) return [nth(cur, index(segs[i], cur.size)), 1];
  return [property(cur, segs[i]!), 1];
}

function get(root: unknown, segs: string[]): unknown {
  let cur = root;
  for (let i = 0; i < segs.length; ) {
    const [next, used] = step(cur, segs, i);
    cur = next;
    i += used;
  }
  return cur;
}

/** Puts `value` at `segs` (not the root), keeping the order of a Set's items or a Map's keys. */
function put(root: unknown, segs: string[], value: unknown): void {
  let cur = root;
  let i = 0;
  for (;;) {
    const left = segs.length - i;
    if (cur instanceof Map ? left === 2 : left === 1) break;
    if (left < 1) throw corrupt('a Map path has no key/value segment');
    const [next, used] = step(cur, segs, i);
    cur = next;
    i += used;
  }
  if (cur instanceof Map) {
    const entries = [...cur];
    const row = index(segs[i], entries.length);
    if (segs[i + 1] === '1') {
      cur.set(entries[row]![0], value);
      return;
    }
    if (segs[i + 1] !== '0') throw corrupt('a Map path has no key/value segment');
    entries[row] = [value, entries[row]![1]];
    cur.clear();
    for (const [k, v] of entries) cur.set(k, v);
  } else if (cur instanceof Set) {
    const items = [...cur];
    items[index(segs[i], items.length)] = value;
    cur.clear();
    for (const x of items) cur.add(x);
  } else {
    property(cur, segs[i]!); // validates the key and the container
    (cur as Record<string, unknown>)[segs[i]!] = value;
  }
}

/**
 * Makes the places `annotations` name hold the one object each names first,
 * in superjson's order (the root's places, then the others as listed).
 * Returns the root (a value cannot replace its own root).
 */
export function restoreShared(root: unknown, annotations: SharedAnnotations): unknown {
  let others: Record<string, string[]> | undefined;
  if (Array.isArray(annotations)) {
    for (const p of annotations[0]) put(root, parsePath(p), root);
    others = annotations[1];
  } else others = annotations;
  if (others) {
    for (const [rep, paths] of Object.entries(others)) {
      const obj = get(root, parsePath(rep));
      for (const p of paths) put(root, parsePath(p), obj);
    }
  }
  return root;
}
