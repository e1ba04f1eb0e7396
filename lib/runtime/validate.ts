/** Input checks of the runtime API: typed errors whose messages say how to fix the call. */
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
