/**
 * The check a value passes before it is serialised: is it data superjson
 * round-trips, how deep is it, and is it plain JSON (the fast path).
 *
 * Iterative on purpose: an explicit stack of frames instead of recursion, so
 * a value nested 100,000 deep is refused with a SerializationError instead of
 * a RangeError whose threshold depends on the caller's stack and JIT state.
 *
 * Depth is the nesting of the JSON that is stored (what superjson's recursive
 * walker, JSON.stringify and JSON.parse walk):
 * - scalars (string, number, boolean, null, undefined, BigInt) and values
 *   stored as a string or a fixed small record (Date, RegExp, URL,
 *   Uint8Array, a webhook request) are depth 0;
 * - an array, a plain object, a Set, an Error (its `cause`) or a registered
 *   class instance is 1 + the depth of its deepest member (`[]` and `{}` are 1);
 * - a Map is 2 + the depth of its deepest key or value: it is stored as a list
 *   of `[key, value]` pairs (and costs superjson two levels of recursion).
 * A value shared in several places counts where it is deepest; a circular
 * reference (stored as a back-reference) counts 0.
 *
 * Refused, because superjson would not store them or not give them back the
 * same (test/serialization/codec-properties.test.ts checks exactly that):
 * functions, symbols, symbol-keyed properties, instances of unregistered
 * classes, the keys `__proto__`, `constructor` and `prototype`, holes of
 * sparse arrays, invalid Dates, and a reference back to a containing value
 * that shares a Set (or a Map's keys) with null or another such reference.
 *
 * Error paths name positions and types (`payload → object property #2 →
 * array index 0`), never key names: keys are user data.
 */
import type { SuperJSON } from 'superjson';
import { SerializationError } from '../errors/errors.js';

const ARRAY = 0;
const OBJECT = 1;
const CLASS = 2;
const MAP = 3;
const SET = 4;
const ERROR = 5;
type Kind = typeof ARRAY | typeof OBJECT | typeof CLASS | typeof MAP | typeof SET | typeof ERROR;

/** One container being walked. */
interface Frame {
  readonly obj: object;
  readonly kind: Kind;
  /** Members in walk order (superjson's order): array items, property values, Map keys and values alternately, Set items, an Error's cause. */
  readonly members: ArrayLike<unknown>;
  /** Property keys (objects and class instances), read as the walk reaches them. */
  readonly keys: string[] | undefined;
  /** Depth of the containers open down to and including this one. */
  readonly level: number;
  /** Index of the next member. */
  next: number;
  /** Depth of the deepest member walked so far. */
  deepest: number;
  /** Set items or Map keys superjson writes as null: nulls and references back to an open container. */
  nulls: number;
  /** Whether one of those is a reference back to an open container. */
  cyclic: boolean;
}

/** Levels a container adds. */
const cost = (kind: Kind) => (kind === MAP ? 2 : 1);

const BUILTIN_LEAVES: Function[] = [Date, RegExp, URL];

/**
 * Keys superjson refuses in any value it walks (a prototype-pollution guard:
 * it throws on serialising them), so they are refused here in plain values
 * too: a value must not be storable or not depending on what else it holds.
 */
export function forbiddenKey(k: string): boolean {
  return k === '__proto__' || k === 'constructor' || k === 'prototype';
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  const ctor = (v as object)?.constructor?.name;
  return ctor ? `an instance of ${ctor}` : 'an unsupported value';
}

/** Where member `i` of a container is, by position and type. */
function segment(kind: Kind, obj: object, i: number): string {
  switch (kind) {
    case ARRAY:
      return `array index ${i}`;
    case OBJECT:
      return `object property #${i + 1}`;
    case CLASS:
      return `${obj.constructor.name || 'class'} property #${i + 1}`;
    case MAP:
      return `Map entry #${(i >> 1) + 1} ${i & 1 ? 'value' : 'key'}`;
    case SET:
      return `Set item #${i + 1}`;
    default:
      return 'Error cause';
  }
}

/** Segments longer than this are shortened in the middle. */
const MAX_SEGMENTS = 12;

/**
 * The path of the member each open frame is at, as `root → segment → ...`.
 * Repeats are folded (`array index 0 (×128)`) and a long path keeps its ends,
 * so a message about a very deep value stays short.
 */
function pathOf(root: string, stack: Frame[], extra?: string): string {
  const parts: string[] = [];
  let last = '';
  let run = 0;
  const flush = () => {
    if (run > 0) parts.push(run === 1 ? last : `${last} (×${run})`);
  };
  const add = (s: string) => {
    if (s === last) {
      run++;
      return;
    }
    flush();
    last = s;
    run = 1;
  };
  for (const f of stack) add(segment(f.kind, f.obj, f.next - 1));
  if (extra !== undefined) add(extra);
  flush();
  if (parts.length > MAX_SEGMENTS) {
    const head = parts.slice(0, 6);
    const tail = parts.slice(parts.length - 5);
    return [root, ...head, `… (${parts.length - 11} more) …`, ...tail].join(' → ');
  }
  return [root, ...parts].join(' → ');
}

/** How a depth limit is reported. */
export interface DepthLimit {
  /** Deepest nesting accepted. */
  max: number;
  /** The limit messages name (an argument list is one level more than its arguments). */
  shown: number;
  /** How to fix it, after the depth rule. */
  hint: string;
}

/** The problem for a value deeper than the limit. */
function tooDeep(path: string, limit: DepthLimit): SerializationError {
  return new SerializationError(path, `it is nested more than ${limit.shown} levels deep`, {
    maxDepth: limit.shown,
    hint: `Arrays, objects, Sets, Errors and class instances count one level each, a Map two. ${limit.hint}`,
  });
}

/**
 * Walks `value` without recursion. Throws SerializationError on what would not
 * round-trip or is nested deeper than `limit.max`; returns true when the value
 * is plain JSON (objects, arrays, strings, finite numbers other than -0,
 * booleans, null; no shared references): superjson writes such a value as
 * exactly `{"json":<JSON>}`, so JSON.stringify can write it ~10x faster.
 */
export function checkValue(value: unknown, root: string, limit: DepthLimit, sj: SuperJSON): boolean {
  const maxDepth = limit.max;
  let plain = true;
  /** Whether the last member visited is a reference back to an open container (a cycle). */
  let cycle: boolean;
  /** Containers seen: -1 while open (a reference back to it is circular), then its depth. */
  const depths = new Map<object, number>();
  const stack: Frame[] = [];

  /** Depth of a member whose containers down to its parent are `level` deep; pushes a frame for a new container (returns -1). */
  const visit = (v: unknown, level: number): number => {
    const t = typeof v;
    if (t === 'string' || t === 'boolean' || v === null) return 0;
    if (t === 'number') {
      if (!Number.isFinite(v) || Object.is(v, -0)) plain = false;
      return 0;
    }
    if (t === 'function' || t === 'symbol') throw new SerializationError(pathOf(root, stack), `it is ${describe(v)}`);
    if (t !== 'object') {
      plain = false; // undefined, bigint: superjson keeps them
      return 0;
    }
    const obj = v as object;
    const known = depths.get(obj);
    if (known !== undefined) {
      // Shared or circular: superjson records the reference (and writes a shared value again in place).
      plain = false;
      if (known < 0) {
        cycle = true;
        return 0;
      }
      if (level + known > maxDepth) throw tooDeep(pathOf(root, stack), limit);
      return known;
    }
    let kind: Kind;
    let members: ArrayLike<unknown> = [];
    let keys: string[] | undefined;
    const proto = Object.getPrototypeOf(obj);
    if (Array.isArray(obj)) {
      kind = ARRAY;
      members = obj;
    } else if (proto === Object.prototype || proto === null) {
      kind = OBJECT;
    } else {
      plain = false;
      if (sj.classRegistry.getIdentifier(obj.constructor as never)) kind = CLASS;
      else if (sj.customTransformerRegistry.findApplicable(obj)) return 0;
      else if (obj instanceof Map) {
        kind = MAP;
        const kv: unknown[] = [];
        for (const [k, x] of obj) kv.push(k, x);
        members = kv;
      } else if (obj instanceof Set) {
        kind = SET;
        members = [...obj];
      } else if (obj instanceof Error) {
        // superjson stores name, message and cause (not the stack or other properties).
        kind = ERROR;
        members = 'cause' in obj ? [obj.cause] : [];
      } else if (obj instanceof Date && Number.isNaN(obj.getTime())) {
        throw new SerializationError(pathOf(root, stack), 'it is an invalid Date, which superjson would store as null', {
          hint: 'Pass null (or a valid Date) instead: check the date where it is parsed.',
        });
      } else if (BUILTIN_LEAVES.some((B) => obj instanceof B)) return 0;
      else {
        throw new SerializationError(
          pathOf(root, stack),
          `it is ${describe(obj)}; pass plain data or register the class with registerSerializableClass()`,
        );
      }
    }
    if (kind === OBJECT || kind === CLASS) {
      if (Object.getOwnPropertySymbols(obj).length > 0) {
        throw new SerializationError(pathOf(root, stack), 'it has a symbol-keyed property, and symbol keys are not stored');
      }
      keys = Object.keys(obj);
      const bad = keys.findIndex(forbiddenKey);
      if (bad >= 0) {
        throw new SerializationError(
          pathOf(root, stack, segment(kind, obj, bad)),
          `the key "${keys[bad]}" is not allowed (superjson refuses "__proto__", "constructor" and "prototype" as a prototype-pollution risk)`,
          { hint: 'Rename the key, or store such data as a Map (its keys may be any string).' },
        );
      }
      members = keys;
    }
    const own = level + cost(kind);
    if (own > maxDepth) throw tooDeep(pathOf(root, stack), limit);
    depths.set(obj, -1);
    stack.push({ obj, kind, members, keys, level: own, next: 0, deepest: 0, nulls: 0, cyclic: false });
    return -1;
  };

  /**
   * superjson writes a reference back to an open container as null and puts it
   * back afterwards; in a Set or among a Map's keys, two nulls become one item
   * before that, so such a reference must be the only null there.
   */
  const noteNull = (f: Frame, isCycle: boolean) => {
    f.nulls++;
    f.cyclic ||= isCycle;
    if (f.cyclic && f.nulls > 1) {
      throw new SerializationError(
        pathOf(root, stack),
        `it is ${isCycle ? 'a reference back to a value that contains it' : 'null'}, and this ${f.kind === SET ? 'Set' : 'Map'} already holds ` +
          `${isCycle ? 'null or another such reference' : 'a reference back to a value that contains it'}` +
          ` ${f.kind === SET ? 'as an item' : 'as a key'}: superjson writes both as null, and they would become one`,
        { hint: 'Keep at most one of them in the Set (or among the Map keys), or use an array.' },
      );
    }
  };

  const top = visit(value, 0);
  if (top >= 0) return plain;
  while (stack.length > 0) {
    const f = stack[stack.length - 1]!;
    if (f.next < f.members.length) {
      const i = f.next++;
      const member = f.keys ? (f.obj as Record<string, unknown>)[f.keys[i]!] : f.members[i];
      if (member === undefined && f.kind === ARRAY && !(i in f.obj)) {
        // superjson copies an array's items by their keys: a hole is written as null, trailing ones are dropped.
        throw new SerializationError(pathOf(root, stack), 'it is a hole of a sparse array, which superjson would not store as a hole', {
          hint: 'Fill the holes (with undefined or null), e.g. with Array.from(array).',
        });
      }
      cycle = false;
      const d = visit(member, f.level);
      if ((cycle || member === null) && (f.kind === SET || (f.kind === MAP && (i & 1) === 0))) noteNull(f, cycle);
      if (d > f.deepest) f.deepest = d;
      continue;
    }
    stack.pop();
    const depth = cost(f.kind) + f.deepest;
    depths.set(f.obj, depth);
    const parent = stack[stack.length - 1];
    if (parent && depth > parent.deepest) parent.deepest = depth;
  }
  return plain;
}
