/**
 * Payloads, arguments, results and metadata are stored as superjson text.
 * Values are checked before serialising (check.ts): superjson silently drops
 * functions and symbols and turns unknown class instances into plain objects,
 * and a write must never store something that does not come back the same.
 * The check also bounds the depth, so that the recursive code that runs after
 * it (superjson's walker, JSON.stringify) never meets a value deep enough to
 * overflow the stack. Reading restores shared values and cycles itself
 * (shared.ts), and an instance of a class this process did not register
 * fails with UnregisteredClassError (superjson.ts).
 */
import { PayloadTooLargeError, SerializationError } from '../errors/errors.js';
import { checkValue, forbiddenKey } from './check.js';
import { restoreShared, type SharedAnnotations } from './shared.js';
import { superjson } from './superjson.js';

export { registerSerializableClass } from './classes.js';

/**
 * Default `maxPayloadDepth` of configure(): the deepest payload or workflow
 * argument list accepted. Real JSON documents are rarely more than 20 deep;
 * 128 leaves room for any of them while staying far below what the recursive
 * code that runs after the check can take (see {@link INTERNAL_MAX_DEPTH}).
 */
export const DEFAULT_MAX_PAYLOAD_DEPTH = 128;

/** The largest `maxPayloadDepth` configure() accepts. */
export const MAX_PAYLOAD_DEPTH_LIMIT = 256;

/**
 * Levels workflow code may add to a value that came in at the edge limit:
 * `step({ data: payload })` nests a payload 2 deeper in the step's argument list.
 */
export const DEPTH_HEADROOM = 32;

/**
 * Depth limit of what the engine serialises itself: step arguments and
 * results, run outputs, hook metadata. It is fixed, not derived from
 * configure(): a worker process may not share the configuration of the
 * process that accepted the payload, and whatever an edge accepted (at most
 * {@link MAX_PAYLOAD_DEPTH_LIMIT}) must still be storable after workflow code
 * wraps it ({@link DEPTH_HEADROOM} more levels).
 *
 * Why so low: superjson walks a value recursively, about 0.9 KB of stack per
 * level when not yet optimised (a Map costs two levels), so a default Node
 * stack (~984 KB) holds about 1,100 levels, and about 560 when half of it is
 * already used. 288 levels (plus one: the `{ result }` wrapper, an argument
 * list) is a quarter of a fresh stack. JSON.stringify (~4,100 levels) and JSON.parse and
 * superjson.deserialize (iterative, or cheap per level) have more room still.
 */
export const INTERNAL_MAX_DEPTH = MAX_PAYLOAD_DEPTH_LIMIT + DEPTH_HEADROOM;

/** Plain values up to this deep are recognised by the recursive fast path. */
const FAST_PATH_DEPTH = 33;

/**
 * The common case first: plain JSON data (an API payload, step arguments),
 * checked with no allocation but the list of objects seen. `false` means
 * "not shown plain here" (another type, a shared reference, deeper than
 * `bound` or large), and {@link checkValue} then decides and reports what is
 * wrong. `depth` is the number of containers around `value`; the recursion is
 * bounded by `bound` (at most {@link FAST_PATH_DEPTH}).
 */
function plainJson(value: unknown, seen: object[], depth: number, bound: number): boolean {
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
  if (depth >= bound || seen.length > 256 || seen.includes(value)) return false;
  seen.push(value);
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return false;
    for (let i = 0; i < value.length; i++) if (!plainJson(value[i], seen, depth + 1, bound)) return false;
    return true;
  }
  const proto = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || Object.getOwnPropertySymbols(value).length > 0) return false;
  for (const k in value) {
    if (forbiddenKey(k) || !Object.prototype.hasOwnProperty.call(value, k)) return false;
    if (!plainJson((value as Record<string, unknown>)[k], seen, depth + 1, bound)) return false;
  }
  return true;
}

/** A stack overflow (V8's RangeError): reported as a SerializationError, never passed on raw. */
function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

function stringify(value: unknown, plain: boolean, what: string): string {
  try {
    return plain ? plainData(value) : superjson.stringify(value as never);
  } catch (err) {
    // The depth check leaves a wide margin: this only happens on a stack that was nearly full already.
    if (isStackOverflow(err)) throw new SerializationError(what, 'the call stack ran out while serialising it (call from a shallower stack)');
    throw new SerializationError(what, (err as Error).message);
  }
}

/**
 * The superjson text of a plain JSON value (no Date, Map, BigInt, class
 * instance...: nothing that needs superjson's `meta`), written without
 * superjson: `{"json":<JSON>}`, byte for byte what superjson writes for it.
 * The one place that writes the envelope; the value is not checked (that is
 * {@link serialize}'s job): pass only values the engine builds itself.
 */
export function plainData(value: unknown): string {
  return `{"json":${JSON.stringify(value)}}`;
}

/**
 * A quick look at superjson text: its `json` part as parsed JSON, without
 * superjson's decoding (a Date there is still a string). For reading a plain
 * field of an event's data, such as a token or a step name; undefined for
 * `null`. Throws, as JSON.parse does, on text that is not JSON.
 */
export function peekData<T>(text: string): T | undefined {
  return (JSON.parse(text) as { json?: T } | null)?.json;
}

/** Options of {@link serialize} and {@link serializeLimited}. */
export interface SerializeOptions {
  /**
   * Store the value as `{ [wrapKey]: value }` (event data); errors and the
   * depth limit still concern the value itself (`payload → array index 2`,
   * not `payload → object property #1 → ...`).
   */
  wrapKey?: string;
  /**
   * Deepest nesting accepted (depth as defined in check.ts: `[]` is 1, a Map
   * adds 2). Default {@link INTERNAL_MAX_DEPTH}; the edge (resumeHook,
   * start) passes configure()'s `maxPayloadDepth`.
   */
  maxDepth?: number;
  /**
   * The value is an argument list (of a workflow or a step): `maxDepth`
   * applies to each argument, as it does to a hook payload; the list itself
   * does not count.
   */
  argumentList?: boolean;
}

const EDGE_HINT = 'Send a flatter value, or a reference to the data (an id or URL); `maxPayloadDepth` in configure() sets this limit.';
const INTERNAL_HINT =
  `Values the engine stores (step arguments and results, workflow return values, hook metadata) may be at most ${INTERNAL_MAX_DEPTH} levels deep: ` +
  'pass a flatter value, or a reference to the data (an id or URL).';

function encode(value: unknown, what: string, opts: SerializeOptions): string {
  const shown = opts.maxDepth ?? INTERNAL_MAX_DEPTH;
  const max = opts.argumentList ? shown + 1 : shown;
  const plain =
    plainJson(value, [], 0, Math.min(FAST_PATH_DEPTH, max)) ||
    checkValue(value, what, { max, shown, hint: opts.maxDepth === undefined ? INTERNAL_HINT : EDGE_HINT }, superjson);
  return stringify(opts.wrapKey === undefined ? value : { [opts.wrapKey]: value }, plain, what);
}

/**
 * Serialises a value to superjson text, refusing with SerializationError what
 * would not round-trip or is nested deeper than `opts.maxDepth`.
 */
export function serialize(value: unknown, what = 'value', opts: SerializeOptions = {}): string {
  return encode(value, what, opts);
}

/**
 * Serialises (as {@link serialize}) and enforces a size limit (bytes of
 * UTF-8 text): PayloadTooLargeError above it.
 */
export function serializeLimited(value: unknown, limit: number, what = 'payload', opts: SerializeOptions = {}): string {
  const text = encode(value, what, opts);
  // A UTF-16 unit is at most 3 UTF-8 bytes: most payloads need no byte count.
  if (text.length * 3 <= limit) return text;
  const size = Buffer.byteLength(text, 'utf8');
  if (size > limit) throw new PayloadTooLargeError(size, limit, what);
  return text;
}

/**
 * Parses superjson text written by {@link serialize}. Stack-safe for
 * anything serialize() accepts, and for deeper values older versions may
 * have stored: JSON.parse is iterative, and superjson.deserialize recurses
 * only along Maps, Sets and class instances, cheaply.
 */
export function deserialize<T = unknown>(text: string | null | undefined): T {
  if (text === null || text === undefined || text === '') return undefined as T;
  try {
    const parsed = JSON.parse(text) as { json?: unknown; meta?: unknown } | null;
    // Plain JSON (no superjson meta: no Date, Map, BigInt...) is the value itself; superjson
    // would deep-copy it first, which costs more than the parse for every step result replayed.
    if (parsed !== null && typeof parsed === 'object' && parsed.meta === undefined) return parsed.json as T;
    const meta = parsed?.meta as { referentialEqualities?: SharedAnnotations; v?: number } | undefined;
    if (meta?.referentialEqualities !== undefined && meta.v === 1) {
      // Shared values and cycles are restored by shared.ts, which gets right what superjson does not.
      const { referentialEqualities, ...values } = meta;
      const value = superjson.deserialize<T>({ json: parsed!.json, meta: values } as never, { inPlace: true });
      return restoreShared(value, referentialEqualities) as T;
    }
    // In place: the parsed tree is ours, no need for superjson to copy it first.
    return superjson.deserialize<T>(parsed as never, { inPlace: true });
  } catch (err) {
    if (isStackOverflow(err)) {
      throw new SerializationError('a stored value', 'it is nested too deeply to be read on this call stack', {
        hint: 'Read it from a shallower call stack; values written by this version are at most 288 levels deep.',
      });
    }
    throw err;
  }
}
