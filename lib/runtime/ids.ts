/** Identifiers: run ids (time-sortable), hook tokens (126 bits of randomness), resume ids. */
import { customAlphabet, nanoid } from 'nanoid';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 Crockford characters, 80 random bits; nanoid draws them from a pooled CSPRNG buffer (one syscall per many ids, not one per id). */
const random80 = customAlphabet(CROCKFORD, 16);

/** A ULID: 48 bits of time then 80 random bits, Crockford base32. */
export function ulid(now = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + random80();
}

/** A new run id: `wrun_<ULID>`. */
export function newRunId(): string {
  return `wrun_${ulid()}`;
}

/** A new hook token: nanoid(21), 126 bits from the OS CSPRNG. */
export function newHookToken(): string {
  return nanoid(21);
}

/** A client-minted id that makes a re-sent resume idempotent. */
export function newResumeId(): string {
  return nanoid(16);
}
