/**
 * Run outputs and event data are superjson values (Date, Map, Set, BigInt,
 * Error, URL, webhook Requests...). `res.json` would throw on a BigInt and
 * silently turn a Map or a Request into `{}`, so routes pass values through
 * {@link toJsonSafe} first.
 */

const MAX_DEPTH = 64;

interface StoredRequestLike {
  method: string;
  url: string;
  headers: [string, string][];
  body: string | null;
}

/**
 * A plain-JSON view of a value: Dates become ISO strings, BigInts strings,
 * Maps objects (or `[key, value]` pairs when a key is not a string), Sets
 * arrays, Errors `{ name, message }`, bytes base64, webhook requests their
 * stored form. Cycles become `'[Circular]'`.
 */
export function toJsonSafe(value: unknown): unknown {
  return convert(value, 0, new WeakSet());
}

function convert(v: unknown, depth: number, seen: WeakSet<object>): unknown {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return v;
    case 'number':
      return Number.isFinite(v) ? v : String(v);
    case 'bigint':
      return v.toString();
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
  }
  if (v === null) return null;
  if (depth > MAX_DEPTH) return '[Too deep]';
  const obj = v as object;
  if (seen.has(obj)) return '[Circular]';
  seen.add(obj);
  try {
    return convertObject(obj, depth, seen);
  } finally {
    // Only ancestors count as cycles: the same object may appear twice side by side.
    seen.delete(obj);
  }
}

function convertObject(obj: object, depth: number, seen: WeakSet<object>): unknown {
  const next = (x: unknown) => convert(x, depth + 1, seen);
  if (obj instanceof Date) return Number.isNaN(obj.getTime()) ? null : obj.toISOString();
  if (obj instanceof URL || obj instanceof RegExp) return String(obj);
  if (obj instanceof Error) return { name: obj.name, message: obj.message };
  if (obj instanceof Uint8Array) return Buffer.from(obj.buffer, obj.byteOffset, obj.byteLength).toString('base64');
  if (obj instanceof Map) {
    const entries = [...obj.entries()];
    if (entries.every(([k]) => typeof k === 'string')) return Object.fromEntries(entries.map(([k, x]) => [k, next(x)]));
    return entries.map(([k, x]) => [next(k), next(x)]);
  }
  if (obj instanceof Set) return [...obj].map(next);
  if (typeof Request !== 'undefined' && obj instanceof Request) {
    // A webhook payload (WebhookRequest) keeps its stored form: method, URL, headers, base64 body.
    const stored = (obj as { stored?: StoredRequestLike }).stored;
    return stored ? next({ method: stored.method, url: stored.url, headers: stored.headers, body: stored.body }) : { method: obj.method, url: obj.url };
  }
  if (typeof Response !== 'undefined' && obj instanceof Response) return { status: obj.status };
  if (Array.isArray(obj)) return obj.map((x) => (x === undefined ? null : next(x)));
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(obj)) {
    const c = next(x);
    if (c !== undefined) out[k] = c;
  }
  return out;
}
