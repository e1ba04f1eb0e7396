/** Identifiers: run ids (time-sortable), hook tokens (126 bits of randomness), resume ids. */
import { customAlphabet, nanoid } from 'nanoid';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
/** 16 Crockford characters, 80 random bits; nanoid draws them from a pooled CSPRNG buffer (one syscall per many ids, not one per id). */
const random80 = customAlphabet(CROCKFORD, 16);

let lastTime = -1;
let lastRandom = '';

/** The next Crockford base32 string of the same length ('' when it would overflow). */
function increment(s: string): string {
  const chars = s.split('');
  for (let i = chars.length - 1; i >= 0; i--) {
    const v = CROCKFORD.indexOf(chars[i]!);
    if (v < 31) {
      chars[i] = CROCKFORD[v + 1]!;
      return chars.join('');
    }
    chars[i] = '0';
  }
  return '';
}

/**
 * A ULID: 48 bits of time then 80 random bits, Crockford base32. Monotonic
 * within this process: ids made in the same millisecond (or while the clock
 * steps back) keep the last time and increment its random part, so they sort
 * in creation order (runs created in the same millisecond list newest first).
 */
export function ulid(now = Date.now()): string {
  let rand: string;
  if (now <= lastTime && (rand = increment(lastRandom)) !== '') now = lastTime;
  else rand = random80();
  lastTime = now;
  lastRandom = rand;
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time + rand;
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
