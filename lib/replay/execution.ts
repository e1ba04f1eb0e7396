/**
 * One execution of a workflow function, driven by its event log.
 *
 * The function is called once and then fed the log in order: each event
 * settles the step, hook or sleep it belongs to, and the workflow code runs
 * (to quiescence: every microtask drained) before the next event is fed. So
 * `Promise.all` / `Promise.race` resolve in log order, the same on every
 * replay. When the log is exhausted, what the code asked for and the log does
 * not have yet becomes the intents the worker commits.
 *
 * A worker keeps a suspended execution warm: the next wake-up feeds only the
 * new events instead of replaying from the start.
 */
import { NondeterminismError, SerializationError } from '../errors/errors.js';
import type { CommitOp, StoredEvent } from '../redis/store-types.js';
import { peekData, serialize } from '../serialization/codec.js';
import { Call, HookCall, StepCall, WaitCall } from './calls.js';
import { adoptionOp, CLAIMED_HOOK_ID, claimedHookCall, claimedTokenOf } from './claimed-hook.js';
import { workflowStorage, type HookRequest, type WorkflowHandle } from './context.js';
import { seededRandom } from './determinism.js';
import { compareEventIds } from './event-ids.js';
import { PATCH_EVENT, Patches } from './patches.js';

const drain = () => new Promise<void>((r) => setImmediate(r));

export { compareEventIds } from './event-ids.js';

/** How a workflow function ended. */
export type Outcome = { kind: 'running' } | { kind: 'returned'; value: unknown } | { kind: 'threw'; error: unknown };

/** What the log lacks, once the code is quiescent at the end of the log. */
export interface Intents {
  ops: CommitOp[];
  /** Steps to run in this job right after the commit. */
  inline: StepCall[];
  /** Steps to put on the step queue. */
  queued: StepCall[];
  /** New sleeps and hook timeouts that need a timer (the id names the wait, or the hook). */
  timers: { id: string; resumeAt: number }[];
}

export interface ExecutionInit {
  runId: string;
  workflowName: string;
  startedAt: number;
  /** Largest batch of new steps run inline in the replay job (more go to the step queue). */
  inlineLimit: number;
  /** Base URL for webhook URLs. */
  publicUrl: string;
}

export class Execution implements WorkflowHandle {
  readonly runId: string;
  readonly workflowName: string;
  readonly startedAt: number;
  readonly publicUrl: string;
  private readonly inlineLimit: number;
  /** Id of the last event consumed ('' before the first). */
  cursor = '';
  /** Time seen by workflow code: the createdAt of the last consumed event. */
  private clock: number;
  /** Seeded on first use (most runs never call Math.random()). */
  private rng: (() => number) | undefined;
  private readonly seq = { step: 0, hook: 0, wait: 0 };
  private readonly calls = new Map<string, Call>();
  /**
   * Calls not settled for good yet, in call order (steps not done, sleeps not
   * completed, hooks not disposed or in conflict): what intents() and the
   * checks between rounds look at, so that a run of thousands of calls does
   * not rescan them all every round. Compacted as they settle ({@link openCalls}).
   */
  private readonly open: Call[] = [];
  /** Recorded events not consumed yet, by correlation id (tokens and resumeAt are read ahead). */
  private lookahead = new Map<string, StoredEvent>();
  /** The run's recorded end (run_completed / run_failed), if the log has it: patch decisions read it ahead. */
  private recordedEnd: StoredEvent | undefined;
  private readonly patches = new Patches();
  outcome: Outcome = { kind: 'running' };
  divergence: Error | undefined;
  /** The log holds a terminal run event. */
  terminal = false;
  /** Events consumed so far (for metrics). */
  consumed = 0;

  constructor(init: ExecutionInit) {
    this.runId = init.runId;
    this.workflowName = init.workflowName;
    this.startedAt = init.startedAt;
    this.clock = init.startedAt;
    this.inlineLimit = init.inlineLimit;
    this.publicUrl = init.publicUrl;
  }

  /** Workflow clock (Date.now() inside the workflow). */
  now(): number {
    return this.clock;
  }

  /** Workflow PRNG (Math.random() inside the workflow). */
  random(): number {
    this.rng ??= seededRandom(`${this.runId}:${this.workflowName}:${this.startedAt}`);
    return this.rng();
  }

  /**
   * Calls the workflow function inside this execution's context and lets it
   * run to its first await. `recorded` is the log so far: calls made before
   * the first await read their recorded tokens and times from it.
   */
  async begin(fn: (...args: any[]) => unknown, args: unknown[], recorded: StoredEvent[] = []): Promise<void> {
    this.remember(recorded);
    workflowStorage.run(this, () => {
      try {
        Promise.resolve(fn(...args)).then(
          (value) => {
            if (this.outcome.kind === 'running') this.outcome = { kind: 'returned', value };
          },
          (error) => {
            if (this.outcome.kind === 'running') this.outcome = { kind: 'threw', error };
          },
        );
      } catch (error) {
        this.outcome = { kind: 'threw', error };
      }
    });
    await drain();
  }

  get finished(): boolean {
    return this.terminal || this.outcome.kind !== 'running' || this.divergence !== undefined;
  }

  /** Feeds events (in log order; already consumed ones are skipped). */
  async feed(events: StoredEvent[]): Promise<void> {
    this.remember(events);
    for (const ev of events) {
      if (this.terminal || this.divergence) return;
      if (this.cursor && compareEventIds(ev.eventId, this.cursor) <= 0) continue;
      this.cursor = ev.eventId;
      const r = this.step(ev);
      if (r === 'diverged') return;
      if (r === 'settled') await drain();
    }
    if (this.lookahead.size > 0) {
      this.lookahead = new Map([...this.lookahead].filter(([, e]) => compareEventIds(e.eventId, this.cursor) > 0));
    }
  }

  /**
   * Feeds results of steps this worker just ran inline before they are
   * committed, so the code can run on to its next calls and the results go
   * in one commit with the intents that follow (their eventId is '' until
   * then). Only valid while nothing
   * else can append to the log (see {@link waitsOnOutside}); the commit
   * checks that (strict) and {@link confirm} then moves the cursor.
   */
  async feedAhead(results: StoredEvent[]): Promise<void> {
    for (const ev of results) {
      if (this.terminal || this.divergence) return;
      const r = this.step(ev);
      if (r === 'diverged') return;
      if (r === 'settled') await drain();
    }
  }

  /** The results fed ahead were committed; `eventId` is the last of them. */
  confirm(eventId: string): void {
    this.cursor = eventId;
  }

  /**
   * Consumes one event. 'settled': it settled something the code may await,
   * so the caller lets the code run to quiescence before the next event.
   */
  private step(ev: StoredEvent): 'settled' | 'quiet' | 'diverged' {
    // The workflow clock: an inline step result carries the worker's clock (wc),
    // recorded with it so that feeding it ahead of the commit replays the same.
    const at = ev.wc ?? ev.createdAt;
    if (at > this.clock) this.clock = at;
    this.consumed++;
    try {
      return this.consume(ev);
    } catch (err) {
      this.divergence = this.patches.explain(err) as Error;
      return 'diverged';
    }
  }

  /**
   * True while something outside this replay may append to the run's log: a
   * live hook (payloads), a pending sleep (its timer) or a step on the step
   * queue (its result).
   */
  get waitsOnOutside(): boolean {
    for (const c of this.openCalls()) {
      if (c.kind === 'hook' && c.created && !c.disposedLogged && !c.conflict) return true;
      if (c.kind === 'wait' && c.created && !c.completed) return true;
      // A queued step, or an inline one whose retry went to the step queue (pending again).
      if (c.kind === 'step' && c.created && c.status !== 'done' && (c.mode === 'queue' || c.status === 'pending')) return true;
    }
    return false;
  }

  /** Keeps the first recorded event of each correlation id for calls to read ahead. */
  private remember(events: StoredEvent[]): void {
    for (const ev of events) {
      if (ev.correlationId && !this.lookahead.has(ev.correlationId)) this.lookahead.set(ev.correlationId, ev);
      else if (ev.type === 'run_completed' || ev.type === 'run_failed') this.recordedEnd ??= ev;
    }
  }

  private consume(ev: StoredEvent): 'settled' | 'quiet' {
    switch (ev.type) {
      case 'run_created':
      case 'run_started':
        return 'quiet';
      case 'run_completed':
      case 'run_failed':
      case 'run_cancelled':
        this.terminal = true;
        return 'quiet';
      case PATCH_EVENT:
        return this.patches.consume(ev, this.consumed);
    }
    const call = this.calls.get(ev.correlationId) ?? this.claimedCall(ev);
    if (!call) {
      const stepName = ev.type === 'step_created' ? peekData<{ stepName?: string }>(ev.data)?.stepName : undefined;
      throw new NondeterminismError(
        `Replay diverged at ${ev.correlationId}${stepName ? ` (step "${stepName}")` : ''} (${ev.type}): the event log has this call but the workflow code did not make it ` +
          `(the code made ${this.seq.step} step, ${this.seq.hook} hook and ${this.seq.wait} sleep calls so far). ` +
          'Workflow code must make the same calls in the same order on every replay: to change it, define a new version (defineWorkflow(name, fn, { version })) or guard the change with patched(id) (README "Deploying new code").',
      );
    }
    return call.consume(ev);
  }

  // ---- calls made by workflow code -------------------------------------------------

  /** A step call from workflow code. */
  callStep(stepName: string, args: unknown[], maxRetries: number): Promise<unknown> {
    const id = `step_${++this.seq.step}`;
    let input: string | undefined;
    let inputError: Error | undefined;
    try {
      input = serialize(args, `arguments of step "${stepName}"`, { argumentList: true });
    } catch (err) {
      inputError = err instanceof SerializationError ? err : new SerializationError(`arguments of step "${stepName}"`, String(err));
    }
    const call = new StepCall(id, stepName, input, inputError, maxRetries);
    this.register(call);
    return call.promise;
  }

  /**
   * The hook start() claimed (lib/replay/claimed-hook.ts), made when the log
   * shows it first: `ev` being consumed, or read ahead (before adoption).
   */
  private claimedCall(ev?: StoredEvent): HookCall | undefined {
    const known = this.calls.get(CLAIMED_HOOK_ID);
    if (known?.kind === 'hook') return known;
    const token = claimedTokenOf(ev) ?? claimedTokenOf(this.lookahead.get(CLAIMED_HOOK_ID));
    if (token === undefined) return undefined;
    const call = claimedHookCall(token, () => this.consumed);
    this.register(call);
    return call;
  }

  /** A hook created by workflow code. Tokens recorded in the log win over new ones. */
  createHook(opts: HookRequest): HookCall {
    const claimed = opts.token !== undefined && !opts.isWebhook ? this.claimedCall() : undefined;
    if (claimed?.claim && !claimed.claim.adopted && claimed.token === opts.token) {
      // The workflow takes the hook start() claimed, with the payloads it holds.
      claimed.claim.adopted = true;
      if (opts.metadata !== undefined) claimed.metadata = opts.metadata;
      claimed.timeoutAt = opts.timeoutAt;
      claimed.tags = opts.tags;
      return claimed;
    }
    const id = `hook_${++this.seq.hook}`;
    const recorded = this.lookahead.get(id);
    let token = opts.token;
    if (recorded && (recorded.type === 'hook_created' || recorded.type === 'hook_conflict')) {
      const recordedToken = peekData<{ token?: string }>(recorded.data)?.token;
      if (opts.token !== undefined && recordedToken !== undefined && recordedToken !== opts.token) {
        this.divergence ??= new NondeterminismError(
          `Replay diverged at ${id}: the workflow code now creates this hook with another custom token than the one recorded.`,
        );
      }
      token = recordedToken ?? token;
    }
    const call = new HookCall(id, token ?? opts.newToken(), opts.metadata, opts.isWebhook, opts.respondWith, () => this.consumed);
    call.timeoutAt = opts.timeoutAt;
    call.tags = opts.tags;
    if (opts.respondWithAsync) {
      const pending = opts.respondWithAsync().then((v) => {
        call.respondWith = v;
      });
      // A failure surfaces in prepare(); keep it from being an unhandled rejection meanwhile.
      pending.catch(() => undefined);
      call.preparing = pending;
    }
    this.register(call);
    return call;
  }

  /** A sleep from workflow code; `resumeAt` adopts the recorded value on replay. */
  sleep(resumeAt: number): Promise<void> {
    const id = `wait_${++this.seq.wait}`;
    const recorded = this.lookahead.get(id);
    const call = new WaitCall(id, resumeAt);
    if (recorded?.type === 'wait_created') call.resumeAt = peekData<{ resumeAt?: number }>(recorded.data)?.resumeAt ?? resumeAt;
    this.register(call);
    return call.promise;
  }

  /** patched(id) (`deprecated` false) or deprecatePatch(id) from workflow code (the rule: patches.ts). */
  patched(patchId: string, deprecated: boolean): boolean {
    const made = (c: string) => this.calls.has(c);
    return this.patches.decide(patchId, deprecated, { byCall: this.lookahead, end: this.recordedEnd, cursor: this.cursor, made, consumed: this.consumed });
  }

  /** The open calls, once those settled for good since the last look are dropped. */
  private openCalls(): Call[] {
    const open = this.open;
    let j = 0;
    for (const c of open) if (!settledForGood(c)) open[j++] = c;
    open.length = j;
    return open;
  }

  private register(call: Call): void {
    this.calls.set(call.id, call);
    this.open.push(call);
  }

  // ---- intents --------------------------------------------------------------------

  /** True while a new call still prepares asynchronously (see {@link prepare}). */
  get preparing(): boolean {
    for (const c of this.openCalls()) if (c.kind === 'hook' && c.preparing && !c.created) return true;
    return false;
  }

  /** Finishes async preparation of new calls (static webhook responses) before intents(). */
  async prepare(): Promise<void> {
    for (const c of this.openCalls()) {
      if (c.kind === 'hook' && c.preparing && !c.created) {
        try {
          await c.preparing;
        } catch (err) {
          this.divergence ??= err as Error;
        }
      }
    }
  }

  /** What to commit now that the code is quiescent at the end of the log. */
  intents(realNow: number, recovering: boolean): Intents {
    const out: Intents = { ops: [], inline: [], queued: [], timers: [] };
    if (this.terminal) return out;
    if (this.divergence) {
      out.ops.push(failedOp(this.divergence));
      return out;
    }
    // Patch markers first: ahead of the calls made after the decision, and of the run's end
    // (a finished run's log still says which branch it took).
    out.ops = this.patches.ops();
    if (this.outcome.kind === 'returned') {
      let output: string;
      try {
        output = serialize(this.outcome.value, 'the workflow return value');
      } catch (err) {
        out.ops.push(failedOp(err));
        return out;
      }
      out.ops.push({ t: 'run_completed', c: '', d: serialize(this.outcome.value, 'the workflow return value', { wrapKey: 'output' }), out: output });
      return out;
    }
    if (this.outcome.kind === 'threw') {
      out.ops.push(failedOp(this.outcome.error));
      return out;
    }
    const open = this.openCalls();
    const newSteps = open.filter((c): c is StepCall => c.kind === 'step' && !c.created && !c.inputError);
    const inline = newSteps.length <= this.inlineLimit;
    // Hooks first, so a step that sends a token out runs after the hook exists. Disposals of hooks the
    // log has go before new hooks: `h.dispose(); createHook({ token })` must find the token free.
    const disposeOp = (c: Call) => c.kind === 'hook' && c.disposed && !c.disposedLogged && !c.conflict;
    const hookTimer = (c: HookCall) => {
      if (c.timeoutAt !== undefined && !disposeOp(c)) out.timers.push({ id: c.id, resumeAt: c.timeoutAt });
    };
    for (const c of open) {
      if (c.kind !== 'hook') continue;
      const adopt = adoptionOp(c);
      if (adopt) {
        out.ops.push(adopt);
        hookTimer(c);
      }
      if (c.created && disposeOp(c)) out.ops.push({ t: 'hook_disposed', c: c.id, d: serialize({}) });
    }
    for (const c of open) {
      if (c.kind !== 'hook') continue;
      if (!c.created && !c.claim) {
        out.ops.push({
          t: 'hook_created',
          c: c.id,
          d: serialize({
            token: c.token,
            isWebhook: c.isWebhook,
            ...(c.timeoutAt !== undefined ? { timeoutAt: c.timeoutAt } : {}),
            ...(c.tags ? { tags: c.tags } : {}),
          }),
          tk: c.token,
          wh: c.isWebhook,
          ...(c.metadata !== undefined ? { md: c.metadata } : {}),
          ...(c.respondWith !== undefined ? { rw: c.respondWith } : {}),
          ...(c.tags ? { tg: c.tags } : {}),
          ...(c.timeoutAt !== undefined ? { to: c.timeoutAt } : {}),
        });
        hookTimer(c);
        // Created and disposed since the last commit: disposed right after, before the next hook claims its token.
        if (disposeOp(c)) out.ops.push({ t: 'hook_disposed', c: c.id, d: serialize({}) });
      }
    }
    for (const c of open) {
      if (c.kind === 'step') {
        if (!c.created && !c.inputError) {
          const mode = inline ? 'inline' : 'queue';
          c.mode = mode;
          out.ops.push({
            t: 'step_created',
            c: c.id,
            d: serialize({ stepName: c.stepName, input: c.input, mode }),
            n: c.stepName,
            m: mode,
            i: c.input!,
          });
          if (inline) {
            out.ops.push({ t: 'step_started', c: c.id, m: 'inline' });
            out.inline.push(c);
          } else out.queued.push(c);
        } else if (recovering && c.created && c.mode === 'inline' && c.status === 'running') {
          // The job that ran this step inline died: run it again (steps are at least once).
          out.ops.push({ t: 'step_started', c: c.id, m: 'inline' });
          out.inline.push(c);
        }
      } else if (c.kind === 'wait' && !c.completed) {
        if (!c.created) {
          out.ops.push({ t: 'wait_created', c: c.id, d: serialize({ resumeAt: c.resumeAt }), at: c.resumeAt });
          if (c.resumeAt > realNow) out.timers.push(c);
        }
        if (c.resumeAt <= realNow) out.ops.push({ t: 'wait_completed', c: c.id, d: serialize({ resumeAt: c.resumeAt }) });
      }
    }
    return out;
  }

}

/** A call nothing can change any more: no intent, no outside event will concern it. */
function settledForGood(c: Call): boolean {
  if (c.kind === 'step') return c.status === 'done';
  if (c.kind === 'wait') return c.completed;
  return c.disposedLogged || c.conflict !== undefined;
}

function errorRecord(err: unknown): { name?: string; message: string; stack?: string } {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { message: String(err) };
}

function failedOp(err: unknown): CommitOp {
  const rec = errorRecord(err);
  return { t: 'run_failed', c: '', d: serialize({ error: rec }), err: JSON.stringify(rec) };
}
