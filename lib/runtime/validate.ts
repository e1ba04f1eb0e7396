/** Input checks of the runtime API: typed errors whose messages say how to fix the call. */
import { isValidName } from '../authoring/registry.js';
import { InvalidArgumentError } from '../errors/errors.js';

/** Longest token accepted, in UTF-8 bytes. */
export const MAX_TOKEN_BYTES = 256;

/** Throws unless `token` is a non-empty string of at most 256 UTF-8 bytes. */
export function assertToken(token: unknown): asserts token is string {
  if (typeof token !== 'string') {
    throw new InvalidArgumentError(`The hook token must be a string, got ${token === null ? 'null' : typeof token}.`);
  }
  if (token.length === 0) throw new InvalidArgumentError('The hook token is empty: pass the token the workflow created.');
  // A UTF-16 unit is at most 3 UTF-8 bytes: short tokens need no byte count.
  if (token.length * 3 <= MAX_TOKEN_BYTES) return;
  const bytes = Buffer.byteLength(token, 'utf8');
  if (bytes > MAX_TOKEN_BYTES) {
    throw new InvalidArgumentError(`The hook token is ${bytes} bytes; tokens are at most ${MAX_TOKEN_BYTES} bytes.`);
  }
}

const RUN_ID_RE = /^[A-Za-z0-9_.-]{1,128}$/;

/** Run ids: 1-128 of letters, digits, `_ . -` (they are part of key names and job ids). */
export function assertRunId(runId: unknown): asserts runId is string {
  if (typeof runId !== 'string' || !RUN_ID_RE.test(runId) || /^\d+$/.test(runId)) {
    throw new InvalidArgumentError(
      `Invalid run id ${JSON.stringify(runId)}: use 1-128 letters, digits, '_', '.' or '-', not only digits.`,
    );
  }
}

/*
 * Paging inputs. The runtime API and the HTTP routes share these checks (the
 * routes pass their own `what`, e.g. `Query parameter "cursor"`), so a value
 * one accepts the other accepts too, and nothing Redis would refuse gets
 * through to it: its error would be an untyped ReplyError.
 */

/** Largest stream id part: Redis stream ids are two unsigned 64-bit integers. */
export const MAX_STREAM_ID_PART = 18446744073709551615n;

/** The largest stream id: nothing can come after it. */
export const MAX_STREAM_ID = `${MAX_STREAM_ID_PART}-${MAX_STREAM_ID_PART}`;

/** Canonical decimal integers: no sign, no leading zeros, no exponent, no spaces. */
const CANONICAL_INT_RE = /^(?:0|[1-9]\d*)$/;

/**
 * Parses a `listRuns` cursor — an offset into the index — into a number.
 * Absent (`undefined`, `null`, `''`) is 0. A cursor is a canonical
 * non-negative decimal integer up to 2^53-1: anything else (`'1e21'`, `'-1'`,
 * `'0x10'`, `' 1'`, `'9007199254740992'`) is refused, never rounded.
 */
export function parseRunsCursor(cursor: unknown, what = 'listRuns({ cursor })'): number {
  if (cursor === undefined || cursor === null || cursor === '') return 0;
  if (typeof cursor !== 'string' || cursor.length > 16 || !CANONICAL_INT_RE.test(cursor) || Number(cursor) > Number.MAX_SAFE_INTEGER) {
    throw new InvalidArgumentError(
      `${what}: pass the cursor of the previous page unchanged (a decimal integer from 0 to ${Number.MAX_SAFE_INTEGER}), or omit it for the first page.`,
    );
  }
  return Number(cursor);
}

/** Throws unless `id` is a Redis stream id `<ms>-<seq>`: two canonical decimal integers up to 2^64-1. */
export function assertEventId(id: unknown, what = 'run.events({ after })'): asserts id is string {
  const parts = typeof id === 'string' && id.length <= 41 ? id.split('-') : [];
  const ok =
    parts.length === 2 && parts.every((p) => CANONICAL_INT_RE.test(p) && p.length <= 20 && BigInt(p) <= MAX_STREAM_ID_PART);
  if (!ok) {
    throw new InvalidArgumentError(
      `${what}: pass the eventId of an event (the cursor of the previous page), e.g. "1700000000000-0", or omit it to start at the beginning.`,
    );
  }
}

/** A page size: `dflt` when undefined, else an integer from 1 to `max`. */
export function checkLimit(limit: unknown, max: number, dflt: number, what = 'limit'): number {
  if (limit === undefined) return dflt;
  if (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 1 || limit > max) {
    throw new InvalidArgumentError(`${what} must be an integer from 1 to ${max}${typeof limit === 'string' ? ' (a number, not a string)' : ''}.`);
  }
  return limit;
}

/** Throws unless `name` is absent or a possible workflow name (a filter no workflow can match is a mistake). */
export function assertWorkflowNameFilter(name: unknown, what = 'listRuns({ workflowName })'): void {
  if (name === undefined) return;
  if (!isValidName(name)) {
    throw new InvalidArgumentError(`${what}: pass a workflow name as given to defineWorkflow (1-200 letters, digits or '_ . : / @ -').`);
  }
}

/** Most tags on one hook (createHook({ tags })). */
export const MAX_HOOK_TAGS = 10;

/** Longest tag, in UTF-8 bytes. */
export const MAX_TAG_BYTES = 128;

/** Throws unless `tag` is a non-empty string of at most 128 UTF-8 bytes without control characters. */
export function assertTag(tag: unknown, what = 'tag'): asserts tag is string {
  if (typeof tag !== 'string' || tag.length === 0) {
    throw new InvalidArgumentError(`${what}: a tag is a non-empty string, e.g. 'order:42'.`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(tag)) throw new InvalidArgumentError(`${what}: a tag cannot contain control characters.`);
  if (tag.length * 3 > MAX_TAG_BYTES && Buffer.byteLength(tag, 'utf8') > MAX_TAG_BYTES) {
    throw new InvalidArgumentError(`${what}: a tag is at most ${MAX_TAG_BYTES} bytes (UTF-8).`);
  }
}

/** Throws unless `tags` is an array of at most 10 distinct valid tags ({@link assertTag}). */
export function assertTags(tags: unknown, what = 'createHook({ tags })'): asserts tags is string[] {
  if (!Array.isArray(tags)) throw new InvalidArgumentError(`${what}: pass an array of strings, e.g. ['order:42'].`);
  if (tags.length > MAX_HOOK_TAGS) throw new InvalidArgumentError(`${what}: a hook has at most ${MAX_HOOK_TAGS} tags, got ${tags.length}.`);
  for (const t of tags) assertTag(t, what);
  if (new Set(tags).size !== tags.length) throw new InvalidArgumentError(`${what}: each tag may be given once.`);
}
