/**
 * Identifiers of the official contract: run ids (`wrun_` + ULID, minted here
 * when the runtime leaves it to the World, checked when the client minted
 * it), event ids (`evnt_` + the event's 1-based slot in its run's log, 26
 * digits: the spec 6/7 form, so a later facade needs no data migration) and
 * cursors (the slot, as text).
 */
import { ulid } from '../runtime/ids.js';

/** The ULID of run ids and message ids: the one generator of the package (lib/runtime/ids.ts), monotonic per process. */
export { ulid };

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

/** The ms time of a ULID, or undefined when the text is not one. */
export function ulidTime(id: string): number | undefined {
  if (!ULID_RE.test(id)) return undefined;
  let t = 0;
  for (const ch of id.slice(0, 10).toUpperCase()) t = t * 32 + CROCKFORD.indexOf(ch);
  return t;
}

const PAST_MS = 24 * 60 * 60 * 1000;
const FUTURE_MS = 5 * 60 * 1000;

/**
 * What is wrong with a client-minted run id (`wrun_` + a ULID whose time is
 * within 24 h before and 5 min after now, as the official worlds check), or
 * undefined when it is valid.
 */
export function runIdProblem(runId: string, now = Date.now()): string | undefined {
  const raw = runId.startsWith('wrun_') ? runId.slice(5) : runId;
  const t = ulidTime(raw);
  if (t === undefined) return `Invalid runId: "${runId}" is not a valid ULID (use wrun_ followed by a 26-character ULID).`;
  if (t < now - PAST_MS) return `Invalid runId: "${runId}" was minted more than 24 hours ago: mint a new run id.`;
  if (t > now + FUTURE_MS) return `Invalid runId: "${runId}" is more than 5 minutes in the future: check the client's clock.`;
  return undefined;
}

/** The event id of slot n (1-based): `evnt_` + 26 digits. */
export function eventIdOfSlot(slot: number): string {
  return `evnt_${String(slot).padStart(26, '0')}`;
}

/** The slot of an event id written by {@link eventIdOfSlot}, or undefined. */
export function slotOfEventId(eventId: string): number | undefined {
  const m = /^evnt_(\d{26})$/.exec(eventId);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}

/** The slot of a stream entry id `0-<n>`. */
export function slotOfEntryId(id: string): number {
  return Number(id.slice(id.indexOf('-') + 1));
}
