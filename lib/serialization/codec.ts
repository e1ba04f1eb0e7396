/**
 * Payloads, arguments, results and metadata are stored as superjson text.
 * Values are checked before serialising: superjson silently drops functions and
 * symbols and turns unknown class instances into plain objects, and a write
 * must never store something that does not come back the same.
 */
import { SuperJSON } from 'superjson';
import { PayloadTooLargeError, SerializationError } from '../errors/errors.js';

/** The superjson instance workflow-redis uses (custom types are registered on it). */
export const superjson = new SuperJSON();

superjson.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'Uint8Array',
);

const BUILTINS: Function[] = [Date, RegExp, Map, Set, Error, URL];

/**
 * Registers a class so its instances round-trip through payloads and results.
 * The identifier is stored with the data: keep it stable across deploys.
 */
export function registerSerializableClass(cls: new (...args: any[]) => unknown, identifier: string): void {
  superjson.registerClass(cls, identifier);
}

function describe(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  if (typeof v === 'symbol') return 'a symbol';
  const ctor = (v as object)?.constructor?.name;
  return ctor ? `an instance of ${ctor}` : 'an unsupported value';
}

/**
 * The path of the value being checked, as segments joined only for an error
 * message (building `payload.items[2]` for every value would cost more than
 * the check itself).
 */
type Path = string[];
const at = (path: Path, last?: string) => (last === undefined ? path.join('') : path.join('') + last);

/**
 * Walks a value, throwing SerializationError on what would not round-trip.
 * Returns true when the value is plain JSON (objects, arrays, strings, finite
 * numbers other than -0, booleans, null): superjson writes such a value as
 * exactly `{"json":<JSON>}`, so JSON.stringify can do it ~10x faster.
 */
function check(value: unknown, path: Path, seen: Set<object>): boolean {
  const t = typeof value;
  if (t === 'string' || t === 'boolean' || value === null) return true;
  if (t === 'number') return Number.isFinite(value) && !Object.is(value, -0);
  if (t === 'function' || t === 'symbol') throw new SerializationError(at(path), `it is ${describe(value)}`);
  if (t !== 'object') return false; // undefined, bigint: superjson keeps them
  const obj = value as object;
  if (seen.has(obj)) return false; // shared or circular references: superjson tracks them
  seen.add(obj);
  if (superjson.customTransformerRegistry.findApplicable(obj)) return false;
  let plain = true;
  if (Array.isArray(obj)) {
    for (let i = 0; i < obj.length; i++) {
      path.push(`[${i}]`);
      if (!check(obj[i], path, seen)) plain = false;
      path.pop();
    }
    return plain;
  }
  const proto = Object.getPrototypeOf(obj);
  if (proto !== Object.prototype && proto !== null) {
    if (BUILTINS.some((B) => obj instanceof B)) {
      if (obj instanceof Map) {
        for (const [k, v] of obj) {
          path.push('<key>');
          check(k, path, seen);
          path[path.length - 1] = `.get(${typeof k === 'string' ? JSON.stringify(k) : '…'})`;
          check(v, path, seen);
          path.pop();
        }
      } else if (obj instanceof Set) {
        let i = 0;
        for (const v of obj) {
          path.push(`<set item ${i++}>`);
          check(v, path, seen);
          path.pop();
        }
      }
      return false;
    }
    if (!superjson.classRegistry.getIdentifier(obj as never)) {
      throw new SerializationError(
        at(path),
        `it is ${describe(obj)}; pass plain data or register the class with registerSerializableClass()`,
      );
    }
    plain = false;
  }
  for (const key of Object.getOwnPropertySymbols(obj)) {
    throw new SerializationError(at(path, `[${String(key)}]`), 'symbol keys are not stored');
  }
  for (const k of Object.keys(obj)) {
    if (k === '__proto__') throw new SerializationError(at(path, '.__proto__'), 'the key "__proto__" is not allowed');
    path.push('.', k);
    if (!check((obj as Record<string, unknown>)[k], path, seen)) plain = false;
    path.length -= 2;
  }
  return plain;
}

/**
 * The common case first: plain JSON data (an API payload, step arguments),
 * checked with no allocation but the list of objects seen. `false` means
 * "not shown plain here" (another type, a shared reference, very deep or
 * large), and {@link check} then decides and reports what is wrong.
 */
function plainJson(value: unknown, seen: object[], depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value) && !Object.is(value, -0);
    case 'object':
      break;
    default:
      return false;
  }
  if (value === null) return true;
  if (depth > 32 || seen.length > 256 || seen.includes(value)) return false;
  seen.push(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!plainJson(value[i], seen, depth + 1)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const k in value) {
    if (k === '__proto__' || !Object.prototype.hasOwnProperty.call(value, k)) return false;
    if (!plainJson((value as Record<string, unknown>)[k], seen, depth + 1)) return false;
  }
  return true;
}

function stringify(value: unknown, plain: boolean, what: string): string {
  if (plain) return `{"json":${JSON.stringify(value)}}`;
  try {
    return superjson.stringify(value as never);
  } catch (err) {
    throw new SerializationError(what, (err as Error).message);
  }
}

/** Serialises a value to superjson text, refusing what would not round-trip. */
export function serialize(value: unknown, what = 'value'): string {
  return stringify(value, plainJson(value, [], 0) || check(value, [what], new Set()), what);
}

/**
 * Serialises and enforces a size limit (bytes of UTF-8 text). With `wrapKey`
 * the value is stored as `{ [wrapKey]: value }` (event data) while errors
 * still name the value itself (`payload.items[2]`, not `payload.payload...`).
 */
export function serializeLimited(value: unknown, limit: number, what = 'payload', wrapKey?: string): string {
  const plain = plainJson(value, [], 0) || check(value, [what], new Set());
  const text = wrapKey === undefined ? stringify(value, plain, what) : stringify({ [wrapKey]: value }, plain, what);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most payloads need no byte count.
  if (text.length * 3 <= limit) return text;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limit) throw new PayloadTooLargeError(size, limit, what);
  return text;
}

/** Parses superjson text written by {@link serialize}. */
export function deserialize<T = unknown>(text: string | null | undefined): T {
  if (text === null || text === undefined || text === '') return undefined as T;
  const parsed = JSON.parse(text) as { json?: unknown; meta?: unknown } | null;
  // Plain JSON (no superjson meta: no Date, Map, BigInt...) is the value itself; superjson
  // would deep-copy it first, which costs more than the parse for every step result replayed.
  if (parsed !== null && typeof parsed === 'object' && parsed.meta === undefined) return parsed.json as T;
  return superjson.deserialize<T>(parsed as never);
}
