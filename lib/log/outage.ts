/**
 * Redis outages in the log: one line when an outage starts, one when it ends
 * (with how long it lasted and how many errors it raised), and a reminder
 * line per minute while it lasts — never a line per reconnect attempt or per
 * failed command. The ioredis client, BullMQ's queues and workers all report
 * their errors here; without an `'error'` listener BullMQ prints each one
 * with its stack on the console, bypassing the app's logger.
 */
import type { RedisUnavailableError } from '../errors/errors.js';
import type { Logger } from './logger.js';

/** How often a long outage is logged again. */
const REMIND_MS = 60_000;

/** What reports here: an ioredis client, a BullMQ Queue or Worker (any event emitter). */
interface Emitter {
  on(event: string, listener: (...args: any[]) => void): unknown;
}

/** An error's text for the log: its name/code and message, cut short (a reply can quote a long script). */
function errorText(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown; message?: unknown };
  const msg = typeof e?.message === 'string' ? e.message : String(err);
  const head = typeof e?.code === 'string' ? e.code : typeof e?.name === 'string' ? e.name : 'Error';
  return `${head}: ${msg.length > 200 ? `${msg.slice(0, 200)}…` : msg}`;
}

/** Turns a stream of Redis errors into outage episodes in the log. */
export class OutageLog {
  private since: number | undefined;
  private lastLine = 0;
  private errors = 0;

  /** `what` names the component in each line ('worker', 'runtime'). */
  constructor(
    private readonly log: Logger,
    private readonly what: string,
  ) {}

  /** Reports the client's errors; its `'ready'` (connected again) ends the episode. */
  watchClient(client: Emitter): void {
    client.on('error', (err: unknown) => this.error('redis', err));
    // A lost connection whose reconnects are accepted and then reset raises no 'error' of the
    // client (only 'close'): each reconnect attempt counts in the episode, so the outage is seen.
    client.on('reconnecting', () => this.error('redis', new Error('the connection to Redis was lost: reconnecting')));
    client.on('ready', () => this.recovered());
  }

  /** Reports an emitter's `'error'` events (BullMQ Queue or Worker) under `source`. */
  watch(emitter: Emitter, source: string): void {
    emitter.on('error', (err: unknown) => this.error(source, err));
  }

  /** True while an outage episode is open. */
  get down(): boolean {
    return this.since !== undefined;
  }

  /** One Redis error of `source`: opens an episode, or counts in the open one. */
  error(source: string, err: unknown): void {
    this.errors++;
    const now = Date.now();
    if (this.since === undefined) {
      this.since = this.lastLine = now;
      this.errors = 1;
      this.log('error', `${this.what}: Redis unavailable (retrying; one line per minute until it is back)`, { source, error: errorText(err) });
    } else if (now - this.lastLine >= REMIND_MS) {
      this.lastLine = now;
      this.log('error', `${this.what}: Redis still unavailable`, { source, error: errorText(err), downMs: now - this.since, errors: this.errors });
    }
  }

  /**
   * A first connection that failed (see lib/redis/ready.ts): the one clear
   * line naming the address, then, while it stays unreachable, a reminder
   * per minute at most. `then` says what happens next (retrying, or each call
   * trying again). Its end is logged by {@link recovered}.
   */
  unreachable(err: RedisUnavailableError, then: string): void {
    const now = Date.now();
    this.errors++;
    if (this.since === undefined) {
      this.since = this.lastLine = now;
      this.errors = 1;
      this.log('error', `${this.what}: ${err.message} ${then}`, { address: err.address, error: err.reason, timeoutMs: err.timeoutMs });
    } else if (now - this.lastLine >= REMIND_MS) {
      this.lastLine = now;
      this.log('error', `${this.what}: Redis at ${err.address} still unreachable`, { address: err.address, error: err.reason, downMs: now - this.since, errors: this.errors });
    }
  }

  /** Ends the episode, if one is open: one line with how long it lasted. */
  recovered(): void {
    if (this.since === undefined) return;
    this.log('warn', `${this.what}: Redis available again`, { downMs: Date.now() - this.since, errors: this.errors });
    this.since = undefined;
  }
}
