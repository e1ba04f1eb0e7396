/**
 * The body of an official queue message, as stored in its BullMQ job and as
 * POSTed to the runtime's routes: JSON text that keeps `Uint8Array`s and
 * `Date`s.
 *
 * Official payloads carry opaque bytes (`runInput.input` is devalue output,
 * possibly compressed or encrypted), and plain `JSON.stringify` would turn a
 * `Uint8Array` into an object of numeric keys. Bytes are written as
 * `{ __type: 'Uint8Array', data: <base64> }`, the spelling world-local's
 * TypedJsonTransport uses, so every byte (NUL, 0xFF...) comes back exactly.
 *
 * world-local lets a `Date` become its ISO string (the runtime's schemas
 * coerce `requestedAt` back); here it is tagged `{ __type: 'Date', value }`
 * and revived as a `Date`, so a handler gets the value that was queued.
 *
 * The text stays plain JSON with the payload's own top-level fields (`runId`):
 * the conformance suite's server counts `/flow` deliveries by parsing it.
 */

/** Tag of a `Uint8Array` in the JSON text (world-local's spelling). */
const BYTES = 'Uint8Array';
/** Tag of a `Date` in the JSON text. */
const DATE = 'Date';

function replacer(this: unknown, key: string, value: unknown): unknown {
  // JSON.stringify calls toJSON (Date's, Buffer's) before the replacer sees
  // the value: the holder still has the original.
  const raw = (this as Record<string, unknown>)[key];
  if (raw instanceof Date) {
    const t = raw.getTime();
    return { __type: DATE, value: Number.isNaN(t) ? null : raw.toISOString() };
  }
  if (raw instanceof Uint8Array) {
    return { __type: BYTES, data: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  }
  return value;
}

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const v = value as { __type?: unknown; data?: unknown; value?: unknown };
    if (v.__type === BYTES && typeof v.data === 'string') {
      // A copy: a Uint8Array over a pooled Buffer would expose (and share) the pool.
      return new Uint8Array(Buffer.from(v.data, 'base64'));
    }
    if (v.__type === DATE && (typeof v.value === 'string' || v.value === null)) {
      return new Date(v.value === null ? Number.NaN : v.value);
    }
  }
  return value;
}

/**
 * Encodes a queue payload as JSON text (bytes as base64, dates tagged).
 * Throws what `JSON.stringify` throws (a cycle, a BigInt).
 */
export function encodeBody(payload: unknown): string {
  const text = JSON.stringify(payload, replacer);
  // JSON.stringify answers undefined (not a string) for undefined or a function.
  if (typeof text !== 'string') throw new TypeError('a queue payload must be a JSON value');
  return text;
}

/** Decodes the text {@link encodeBody} wrote. Throws a SyntaxError when it is not JSON. */
export function decodeBody(text: string): unknown {
  return JSON.parse(text, reviver);
}
