/**
 * What workflow code calls, as the replay sees it: one object per step call,
 * hook and sleep, keyed by a correlation id allocated in call order
 * (`step_1`, `hook_1`, `wait_1`...). Each consumes the events of its id and
 * settles the promise the workflow awaits.
 */
import { FatalError, HookConflictError, HookTimeoutError, NondeterminismError } from '../errors/errors.js';
import type { StoredEvent } from '../redis/store-types.js';
import { deserialize } from '../serialization/codec.js';

/** Result of consuming an event: did it settle something the code may await? */
export type Consumed = 'settled' | 'quiet';

export class StepCall {
  readonly kind = 'step';
  created = false;
  status: 'new' | 'pending' | 'running' | 'done' = 'new';
  attempt = 0;
  firstStartedAt: number | undefined;
  mode: 'inline' | 'queue' = 'inline';
  readonly promise: Promise<unknown>;
  private resolveFn!: (v: unknown) => void;
  private rejectFn!: (e: unknown) => void;

  constructor(
    readonly id: string,
    readonly stepName: string,
    readonly input: string | undefined,
    readonly inputError: Error | undefined,
    readonly maxRetries: number,
  ) {
    this.promise = new Promise((res, rej) => {
      this.resolveFn = res;
      this.rejectFn = rej;
    });
    if (inputError) {
      this.status = 'done';
      this.rejectFn(inputError);
    }
  }

  consume(ev: StoredEvent): Consumed {
    switch (ev.type) {
      case 'step_created': {
        const d = (ev.parsed ?? deserialize(ev.data)) as { stepName: string; mode?: 'inline' | 'queue' };
        if (d.stepName !== this.stepName) {
          throw new NondeterminismError(
            `Replay diverged at ${this.id}: the event log has step "${d.stepName}" there, but the workflow code now calls step "${this.stepName}". ` +
              'Workflow code must make the same calls in the same order on every replay: to change it, define a new version (defineWorkflow(name, fn, { version })) or guard the change with patched(id) (README "Deploying new code").',
          );
        }
        this.created = true;
        this.mode = d.mode ?? 'queue';
        if (this.status === 'new') this.status = 'pending';
        return 'quiet';
      }
      case 'step_started': {
        this.attempt = ((ev.parsed ?? deserialize(ev.data)) as { attempt: number }).attempt;
        this.firstStartedAt ??= ev.wc ?? ev.createdAt;
        this.status = 'running';
        return 'quiet';
      }
      case 'step_retrying':
        this.status = 'pending';
        return 'quiet';
      case 'step_completed':
        this.status = 'done';
        this.resolveFn(deserialize<{ result: unknown }>(ev.data).result);
        return 'settled';
      case 'step_failed': {
        this.status = 'done';
        const d = deserialize<{ error: { message: string; stack?: string } }>(ev.data);
        const err = new FatalError(d.error.message);
        if (d.error.stack) err.stack = d.error.stack;
        this.rejectFn(err);
        return 'settled';
      }
      default:
        throw new NondeterminismError(`Replay diverged: event ${ev.type} cannot belong to step call ${this.id}.`);
    }
  }
}

interface Waiter {
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  /** Events consumed when the claim was made: claims of one burst of code share it. */
  generation: number;
}

export class HookCall {
  readonly kind = 'hook';
  created = false;
  conflict: { conflictingRunId?: string } | undefined;
  disposed = false;
  disposedLogged = false;
  /** hook_timed_out consumed: payloads buffered before it are still delivered, then next() rejects. */
  timedOut = false;
  /** createHook({ timeout }): when the hook times out (epoch ms). */
  timeoutAt: number | undefined;
  /** createHook({ tags }). */
  tags: string[] | undefined;
  /**
   * The hook start() claimed for the run (`hook_0`, lib/replay/claimed-hook.ts):
   * `adopted` once the workflow's createHook({ token }) took it, `adoptLogged`
   * once its hook_adopted is in the log.
   */
  claim: { adopted: boolean; adoptLogged: boolean } | undefined;
  private readonly buffer: unknown[] = [];
  private waiters: Waiter[] = [];

  constructor(
    readonly id: string,
    readonly token: string,
    public metadata: string | undefined,
    readonly isWebhook: boolean,
    /** Webhook response mode: 'manual', a stored Response (superjson), or none (202). */
    public respondWith: string | undefined,
    /** Events consumed so far by the execution (the generation of a new claim). */
    private readonly generation: () => number,
    /** Work to finish before the hook is committed (reading a static Response body). */
    public preparing?: Promise<void>,
  ) {}

  /** One payload: a buffered one (FIFO), else the next to arrive. */
  next(): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.conflict) return reject(new HookConflictError(this.token, this.conflict.conflictingRunId));
      if (this.buffer.length > 0) return resolve(this.buffer.shift());
      if (this.timedOut) return reject(new HookTimeoutError(this.token));
      this.waiters.push({ resolve, reject, generation: this.generation() });
    });
  }

  private checkToken(ev: StoredEvent): void {
    const recorded = deserialize<{ token?: string }>(ev.data)?.token;
    if (recorded !== undefined && recorded !== this.token) {
      throw new NondeterminismError(
        `Replay diverged at ${this.id}: the workflow code now creates this hook with another token than the one recorded in the log.`,
      );
    }
  }

  dispose(): void {
    this.disposed = true;
    this.waiters = [];
  }

  consume(ev: StoredEvent): Consumed {
    switch (ev.type) {
      case 'hook_created':
        this.checkToken(ev);
        this.created = true;
        return 'quiet';
      case 'hook_conflict': {
        this.checkToken(ev);
        this.created = true;
        this.conflict = { conflictingRunId: deserialize<{ conflictingRunId?: string }>(ev.data)?.conflictingRunId };
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting) w.reject(new HookConflictError(this.token, this.conflict.conflictingRunId));
        return waiting.length > 0 ? 'settled' : 'quiet';
      }
      case 'hook_received': {
        const payload = deserialize<{ payload: unknown }>(ev.data).payload;
        // One payload, one claim. Claims of the newest burst of code go first
        // (FIFO among them), so a claim left behind by a lost Promise.race
        // cannot swallow a payload meant for a later await.
        if (this.waiters.length > 0) {
          const newest = Math.max(...this.waiters.map((w) => w.generation));
          const i = this.waiters.findIndex((w) => w.generation === newest);
          const [w] = this.waiters.splice(i, 1);
          w!.resolve(payload);
          return 'settled';
        }
        this.buffer.push(payload);
        return 'quiet';
      }
      case 'hook_disposed':
        this.disposedLogged = true;
        return 'quiet';
      case 'hook_timed_out': {
        // Recorded by the timer's script with the token's release: the hook is gone for good.
        this.timedOut = true;
        this.disposedLogged = true;
        const waiting = this.waiters;
        this.waiters = [];
        for (const w of waiting) w.reject(new HookTimeoutError(this.token));
        return waiting.length > 0 ? 'settled' : 'quiet';
      }
      case 'hook_adopted':
        if (!this.claim) throw new NondeterminismError(`Replay diverged: ${this.id} was not claimed by start(), yet the log says the workflow adopted it.`);
        this.claim.adoptLogged = true;
        return 'quiet';
      default:
        throw new NondeterminismError(`Replay diverged: event ${ev.type} cannot belong to hook ${this.id}.`);
    }
  }
}

export class WaitCall {
  readonly kind = 'wait';
  created = false;
  completed = false;
  readonly promise: Promise<void>;
  private resolveFn!: () => void;

  constructor(
    readonly id: string,
    public resumeAt: number,
  ) {
    this.promise = new Promise((res) => (this.resolveFn = res));
  }

  consume(ev: StoredEvent): Consumed {
    switch (ev.type) {
      case 'wait_created':
        this.created = true;
        this.resumeAt = deserialize<{ resumeAt: number }>(ev.data).resumeAt;
        return 'quiet';
      case 'wait_completed':
        this.completed = true;
        this.resolveFn();
        return 'settled';
      default:
        throw new NondeterminismError(`Replay diverged: event ${ev.type} cannot belong to sleep ${this.id}.`);
    }
  }
}

export type Call = StepCall | HookCall | WaitCall;
