/**
 * The heart of a wake-up: commits what the workflow code asked for, runs its
 * inline steps and feeds their results back, until the code finishes or waits
 * on the outside (see {@link drive}).
 */
import { FencedError, StaleCommitError } from '../errors/errors.js';
import { eventOfOp, opClock } from '../redis/events.js';
import type { CommitOp, CommitOptions, CommitReply, CommitResult, StoredEvent, WorkflowClocked } from '../redis/store-types.js';
import type { StepCall } from '../replay/calls.js';
import { realNow } from '../replay/determinism.js';
import type { Execution, Intents } from '../replay/execution.js';
import type { ReplayContext } from './context.js';
import { onDeadline } from './deadline.js';
import { logCommitted, withStepInfo, type RunLogContext } from './lifecycle-log.js';
import type { RunLease } from './run-lease.js';
import { scheduleStep, scheduleTimer } from './scheduling.js';
import { runStepAttempt, type StepOutcome } from './step-runner.js';
import { stepStreams } from './step-streams.js';

/** Most ops fed ahead of the log before they must be committed (bounds one commit's size). */
export const MAX_AHEAD_OPS = 256;

/** What {@link drive} did. */
export interface DriveResult {
  fed: number;
  /** The execution ran ahead of the log (a strict commit was refused): replay the run afresh. */
  restart: boolean;
  /** A new run's first commit found it started already: nothing was written. */
  notNew?: boolean;
}

interface InlineRun {
  step: StepCall;
  outcome: StepOutcome;
  attempt: number;
}

/** A round's commit of its intents, which started inline steps: what {@link Drive.commitResults} needs. */
interface Committed {
  /** The ops committed, and what the commit said about each. */
  ops: CommitOp[];
  results: CommitResult[];
  /** The steps run ahead of the commit (the window closed while they ran), if any. */
  running?: Promise<InlineRun[]>;
}

/** Inline steps run ahead of their start's commit, and that commit if the window closed while they ran. */
interface Deferred {
  running: Promise<InlineRun[]>;
  early?: Promise<CommitReply>;
}

/** How a round goes on: drive() returns, the next round begins, or the steps a commit started run. */
type Round = { stop: DriveResult } | 'next' | Committed;

/**
 * Commits intents and runs inline steps until the execution waits on the
 * outside.
 *
 * Round trips: while nothing outside can append to the log (no live hook,
 * pending sleep or queued step), results are fed to the execution before they
 * are committed, and go in one strict commit with what the code does next:
 * - the results of steps whose start is recorded go with the next intents;
 * - new inline steps the code calls within `ctx.commitWindowMs` of the last
 *   commit run at once, and their step_created, step_started and result are
 *   recorded together later (a step that outlasts the window has its start
 *   recorded while it runs). A crash inside the window re-runs them: steps
 *   run at least once, and their results are still recorded exactly once.
 * A new run's first job may run its first steps this way too, before the
 * commit that starts the run: a 3-step workflow is then 1 commit. The commit
 * that leaves the run waiting or finished also releases the lease.
 *
 * Each round: stop if the lease was lost ({@link Drive.handOnLost}) or the
 * worker is closing ({@link Drive.drainOnClose}); take the code's intents and
 * commit them ({@link Drive.commitIntents}), their new inline steps first run
 * ahead while the commit window is open ({@link Drive.runAhead}); then run
 * the inline steps that commit started and feed or commit their results
 * ({@link Drive.commitResults}).
 */
export function drive(ctx: ReplayContext, ex: Execution, lease: RunLease, recovering: boolean): Promise<DriveResult> {
  return new Drive(ctx, ex, lease).run(recovering);
}

/** One drive(): the ops fed ahead of the log and the time of the last commit, between rounds. */
class Drive {
  private readonly commits: NonNullable<ReplayContext['commits']>;
  private readonly logRun: RunLogContext;
  /** Events fed to the execution from commit replies. */
  private fed = 0;
  /** Ops fed ahead, to commit with the next intents: results of recorded steps, then whole deferred steps. */
  private ahead: CommitOp[] = [];
  /** How many ops at the head of `ahead` are results of steps whose start is in the log. */
  private recordedAhead = 0;
  private lastCommitAt = performance.now();

  constructor(
    private readonly ctx: ReplayContext,
    private readonly ex: Execution,
    private readonly lease: RunLease,
  ) {
    this.commits = ctx.commits ?? ctx.store;
    this.logRun = { runId: lease.runId, workflowName: ex.workflowName, workerId: ctx.workerId, startedAt: ex.startedAt };
  }

  async run(recovering: boolean): Promise<DriveResult> {
    for (let round = 0; ; round++) {
      if (this.lease.lost && !this.lease.released) await this.handOnLost();
      if (round > 0 && this.closing && !this.ex.finished) return this.drainOnClose();
      if (this.ex.preparing) await this.ex.prepare();
      const intents = this.ex.intents(realNow(), recovering);
      recovering = false;
      // The usual round (new inline steps while the window is open) goes straight to running them:
      // one awaited call less per round, which Node 20's promise hooks (AsyncLocalStorage) make worth it.
      const next = this.canDefer(intents) ? await this.runAhead(intents) : await this.commitIntents(intents);
      if (next === 'next') continue;
      if ('stop' in next) return next.stop;
      await this.commitResults(intents, next);
    }
  }

  private get closing(): boolean {
    return this.ctx.isClosing?.() ?? false;
  }

  /**
   * Every commit of this replay, fenced by the lease's epoch (a new run's
   * first commit instead carries its start and takes the lease): its lifecycle
   * lines are logged from its reply, once it succeeded.
   */
  private async commit(ops: CommitOp[], cursor = '', opts: Omit<CommitOptions, 'start'> = {}): Promise<CommitReply> {
    const { start } = this.lease;
    const reply = await this.commits.commit(this.lease.runId, start ? null : this.lease.epoch, ops, cursor, start ? { ...opts, start } : opts);
    logCommitted(this.ctx.log, this.logRun, ops, reply, start !== undefined && reply.epoch !== undefined);
    return reply;
  }

  /**
   * The lease expired under us (a long inline step) or was taken over. Results
   * of steps that ran are still worth keeping (the epoch fences the write);
   * then whoever holds or takes the run continues it.
   */
  private async handOnLost(): Promise<never> {
    if (this.ahead.length > 0) await this.commit(this.ahead);
    await this.ctx.store.wakeRun(this.lease.runId);
    throw new FencedError('replay lease lost');
  }

  /**
   * Draining: do not start the next step here; another worker continues the
   * run (from the log: what the code did after results fed ahead is not kept).
   */
  private async drainOnClose(): Promise<DriveResult> {
    if (this.ahead.length === 0) {
      await this.ctx.store.wakeRun(this.lease.runId);
      return { fed: this.fed, restart: false };
    }
    const { start } = this.lease;
    try {
      const reply = await this.commit(this.ahead);
      if (start) this.lease.takeStart(reply);
    } catch (err) {
      // A new run somebody else started meanwhile: theirs it is.
      if (start && StaleCommitError.is(err)) return { fed: this.fed, restart: false };
      throw err;
    }
    return { fed: this.fed, restart: true };
  }

  /**
   * Commits the intents, after the ops fed ahead (in one strict commit then),
   * and feeds the execution what the commit appended and what others appended
   * before it. The commit is the last of the replay (it releases the lease)
   * unless the intents start inline steps. Their new inline steps may first
   * have run ahead ({@link runAhead}, which then calls this with them).
   */
  private async commitIntents(intents: Intents, deferred?: Deferred): Promise<Round> {
    const { ctx, ex, lease } = this;
    const ops = this.opsOf(intents);
    const start = lease.start;
    // A new run with nothing to commit yet: leave it to the usual way (lease, then wait).
    if (ops.length === 0) return { stop: { fed: this.fed, restart: false, notNew: start !== undefined } };
    if (lease.released) {
      // The last commit released the lease, and what it recorded let the code go on
      // (a sleep already due, a hook conflict): the next replay commits the rest.
      await ctx.store.wakeRun(lease.runId);
      return { stop: { fed: this.fed, restart: false } };
    }

    const running = deferred?.running;
    let reply;
    try {
      reply = await (deferred?.early ?? this.commitOps(intents, ops));
    } catch (err) {
      // Steps started ahead of this commit finish before the job hands the run on.
      if (running) await running;
      if (!StaleCommitError.is(err)) throw err;
      if (start) return { stop: { fed: this.fed, restart: false, notNew: true } };
      // Something was appended after all: the results of recorded steps stand, what the code did after them does not.
      if (this.recordedAhead > 0) await this.commit(this.ahead.slice(0, this.recordedAhead));
      return { stop: { fed: this.fed, restart: true } };
    }
    this.lastCommitAt = performance.now();
    if (start) lease.takeStart(reply);
    lease.noteReleased(reply);
    const { results, own } = reply;
    const aheadOps = this.ahead.length;
    if (aheadOps > 0) {
      const confirmed = own.slice(0, aheadOps);
      // Refused results (not expected without unseen events): the log is the truth, replay from it.
      if (confirmed.some((e) => !e)) {
        if (running) await running;
        return { stop: { fed: this.fed, restart: true } };
      }
      ex.confirm(confirmed[confirmed.length - 1]!.eventId);
    }
    const events = aheadOps > 0 ? own.slice(aheadOps).filter((e) => e !== undefined) : reply.events;
    this.ahead = [];
    this.recordedAhead = 0;
    this.fed += events.length;
    // Timers and queued steps are added after the commit; a crash in between is repaired by the reconciler.
    if (intents.timers.length > 0 || intents.queued.length > 0) {
      await Promise.all([
        ...intents.timers.map((w) => scheduleTimer(ctx.store, ctx.route, lease.runId, w.id, w.resumeAt)),
        ...intents.queued.map((s) => scheduleStep(ctx.store, ctx.route, lease.runId, s.id, 1)),
      ]);
    }
    await ex.feed(events);
    if (ex.terminal || intents.inline.length === 0) {
      if (running) await running;
      return 'next';
    }
    return { ops, results, running };
  }

  /** The ops of a commit of these intents: the ops fed ahead, then theirs. */
  private opsOf(intents: Intents): CommitOp[] {
    return this.ahead.length > 0 ? [...this.ahead, ...intents.ops] : intents.ops;
  }

  /** The commit of these intents' ops (strict after ops fed ahead); it releases the lease unless they start inline steps. */
  private commitOps(intents: Intents, ops: CommitOp[]): Promise<CommitReply> {
    const last = intents.inline.length === 0;
    return this.commit(ops, this.ex.cursor, { strict: this.ahead.length > 0, releaseOwner: last ? this.lease.owner : undefined });
  }

  /**
   * May the new inline steps of these intents run before their start is
   * recorded? Only if the lease lets them ({@link RunLease.mayRunAhead}),
   * nothing outside can append to the log, only new steps are to be recorded
   * (a re-run after a crash records its start first), and the commit window
   * is still open.
   */
  private canDefer(intents: Intents): boolean {
    const window = this.ctx.commitWindowMs ?? 0;
    if (window <= 0 || !this.lease.mayRunAhead) return false;
    const n = intents.inline.length;
    if (n === 0 || intents.ops.length !== 2 * n || intents.queued.length > 0 || intents.timers.length > 0) return false;
    if (intents.inline.some((s) => s.created) || this.ahead.length + 3 * n > MAX_AHEAD_OPS) return false;
    if (this.ex.waitsOnOutside || this.closing) return false;
    return performance.now() - this.lastCommitAt < window;
  }

  /**
   * Runs the new steps now ({@link canDefer} said they may); their start is
   * recorded with their result, fed ahead to commit with the next intents
   * ('next'), or, if the window closes while they run, by a commit made then
   * ({@link commitIntents} goes on from it).
   */
  private async runAhead(intents: Intents): Promise<Round> {
    const wc = realNow();
    for (const op of intents.ops) (op as WorkflowClocked).wc = wc;
    const running = this.runSteps(intents.inline.map((step) => ({ step, attempt: 1, startedAt: wc })));
    let early: Promise<CommitReply> | undefined;
    const deadline = onDeadline(this.lastCommitAt + this.ctx.commitWindowMs!, () => {
      early = this.commitOps(intents, this.opsOf(intents));
      early.catch(() => undefined); // awaited by commitIntents, once the steps are done
    });
    const done = await running;
    deadline.cancel();
    if (!early && done.every((r) => r.outcome.type !== 'step_retrying') && !this.closing && !this.lease.lost) {
      const deferred = [...intents.ops, ...resultOps(done)];
      await this.ex.feedAhead(deferred.map(aheadEvent));
      this.ahead = this.ahead.concat(deferred);
      return 'next';
    }
    // The window closed while they ran, or a retry needs scheduling: their start is recorded now.
    return this.commitIntents(intents, { running, early });
  }

  /**
   * Runs the inline steps whose start the commit recorded (or takes the
   * outcomes of those run ahead), then feeds their results ahead, to commit
   * with the next intents, or, when something outside may append to the log
   * (or a retry needs scheduling), commits them now.
   */
  private async commitResults(intents: Intents, { ops, results, running }: Committed): Promise<void> {
    const { ctx, ex, lease } = this;
    // Steps whose start this commit recorded (a step already settled, or cancelled, is not run).
    const started = intents.inline
      .map((step) => ({ step, res: results[ops.findIndex((o) => o.t === 'step_started' && o.c === step.id)] }))
      .filter((s) => s.res?.r === 'ok');
    const outcomes = running
      ? (await running).filter((r) => started.some((s) => s.step === r.step))
      : await this.runSteps(started.map(({ step, res }) => ({ step, attempt: res!.attempt!, startedAt: res!.startedAt! })));
    const after = resultOps(outcomes);
    if (after.length === 0) return;
    const feedAhead =
      outcomes.every(({ outcome }) => outcome.type !== 'step_retrying') && !ex.waitsOnOutside && !this.closing && !lease.lost;
    if (feedAhead) {
      await ex.feedAhead(after.map(aheadEvent));
      this.ahead = after;
      this.recordedAhead = after.length;
      return;
    }
    const reply = await this.commit(after, ex.cursor);
    this.lastCommitAt = performance.now();
    this.fed += reply.events.length;
    await Promise.all(
      outcomes.map(({ step, outcome, attempt }, i) =>
        outcome.type === 'step_retrying' && reply.results[i]?.r === 'ok'
          ? scheduleStep(ctx.store, ctx.route, lease.runId, step.id, attempt + 1, outcome.retryAt)
          : undefined,
      ),
    );
    await ex.feed(reply.events);
  }

  /** Runs steps inline at once (one promise, not a Promise.all, for the usual single step). */
  private runSteps(steps: { step: StepCall; attempt: number; startedAt: number }[]): Promise<InlineRun[]> {
    if (steps.length === 1) {
      const { step, attempt, startedAt } = steps[0]!;
      return this.runInline(step, attempt, startedAt).then((r) => [r]);
    }
    return Promise.all(steps.map(({ step, attempt, startedAt }) => this.runInline(step, attempt, startedAt)));
  }

  private runInline(step: StepCall, attempt: number, firstStartedAt: number): Promise<InlineRun> {
    return runStepAttempt({
      runId: this.lease.runId,
      workflowName: this.ex.workflowName,
      workflowStartedAt: this.ex.startedAt,
      publicUrl: this.ctx.publicUrl,
      stepId: step.id,
      stepName: step.stepName,
      input: step.input!,
      attempt,
      firstStartedAt,
      streams: stepStreams(this.ctx.store),
    }).then((outcome) => ({ step, outcome, attempt }));
  }
}

/**
 * The ops recording step outcomes, stamped with the worker's clock (the
 * workflow clock at the result), with what their log line needs.
 */
function resultOps(runs: InlineRun[]): CommitOp[] {
  const wc = realNow();
  return runs.map(({ step, outcome, attempt }) =>
    outcome.type === 'step_retrying'
      ? withStepInfo(
          { t: 'step_retrying', c: step.id, d: outcome.data, ra: outcome.retryAt, wc },
          { stepName: step.stepName, attempt, error: outcome.error, retryAt: outcome.retryAt },
        )
      : withStepInfo(
          { t: outcome.type, c: step.id, d: outcome.data, wc },
          { stepName: step.stepName, attempt, error: outcome.type === 'step_failed' ? outcome.error : undefined },
        ),
  );
}

/** The event an op fed ahead of its commit stands for (its id is known once committed). */
function aheadEvent(op: CommitOp): StoredEvent {
  const wc = opClock(op) ?? realNow();
  // Deferred steps are new: a step_started is their first attempt (commitRun.lua counts the same).
  return eventOfOp(op, { id: '', createdAt: wc, attempt: 1, wc });
}
