/** Durations: `'30s'`, `'1 day'`, milliseconds, or a Date (absolute). */
import ms from 'ms';
import { InvalidArgumentError } from '../errors/errors.js';

/** A duration for `sleep()` and `RetryableError({ retryAfter })`. */
export type Duration = string | number | Date;

/** Epoch ms at which a duration that starts at `from` ends. */
export function resolveDuration(d: Duration, from: number): number {
  if (d instanceof Date) {
    const t = d.getTime();
    if (Number.isNaN(t)) throw new InvalidArgumentError('Invalid Date given as a duration.');
    return t;
  }
  if (typeof d === 'number') {
    if (!Number.isFinite(d) || d < 0) throw new InvalidArgumentError(`Invalid duration ${d}: use milliseconds >= 0.`);
    return from + d;
  }
  if (typeof d === 'string') {
    const v = ms(d as ms.StringValue);
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      throw new InvalidArgumentError(`Invalid duration ${JSON.stringify(d)}: use forms like '30s', '5m', '1 day' or milliseconds.`);
    }
    return from + v;
  }
  throw new InvalidArgumentError('A duration is a string like "30s", a number of milliseconds, or a Date.');
}
