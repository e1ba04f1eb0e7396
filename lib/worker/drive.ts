/**
 * The heart of a wake-up: commits what the workflow code asked for, runs its
 * inline steps and feeds their results back, until the code finishes or waits
 * on the outside (see {@link drive}).
 */
import { FencedError, StaleCommitError } from '../errors/errors.js';
import type { CommitOp, CommitOptions, CommitReply, StartSpec, StoredEvent } from '../redis/store-types.js';
import type { StepCall } from '../replay/calls.js';
import { realNow } from '../replay/determinism.js';
import type { Execution, Intents } from '../replay/execution.js';
import { logCommitted, withStepInfo, type RunLogContext } from './lifecycle-log.js';
import type { ReplayContext } from './replay-job.js';
import { scheduleStep, scheduleTimer } from './scheduling.js';
import { runStepAttempt, type StepOutcome } from './step-runner.js';

/** Most ops fed ahead of the log before they must be committed (bounds one commit's size). */
export const MAX_AHEAD_OPS = 256;

/** The lease a replay writes under: its epoch, or, for a new run not started yet, the start to commit first. */
export interface ReplayLease {
  epoch: number;
  start?: StartSpec;
  /**
   * The run's first replay job on its first delivery: its steps may run before
   * the start commit. Not on a re-delivery (a worker died in it): the run may
   * have results recorded already, which a replay from the log would reuse.
   */
  firstDelivery?: boolean;
}

/** The replay's hold on the run's lease. */
export interface LeaseState {
  /** Renewal found another owner: stop writing. */
  lost: boolean;
  /** A commit released it (the epoch still fences this replay's writes). */
  released: boolean;
  /** The replay holds (or held) the lease: false until a new run's first commit takes it. */
  acquired: boolean;
  /** Called when a new run's first commit took the lease and kept it (start renewing it). */
  onAcquired?: () => void;
}

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
 */
export async function drive(
  ctx: ReplayContext,
  ex: Execution,
  runId: string,
  lease: ReplayLease,
  owner: string,
  recovering: boolean,
  held: LeaseState,
): Promise<DriveResult> {
  const { store } = ctx;
  const commits = ctx.commits ?? store;
  const run: RunLogContext = { runId, workflowName: ex.workflowName, workerId: ctx.workerId, startedAt: ex.startedAt };
  /** Every commit of this replay: its lifecycle lines are logged from its reply, once it succeeded. */
  const commit = async (epoch: number | null, ops: CommitOp[], cursor = '', opts: CommitOptions = {}): Promise<CommitReply> => {
    const reply = await commits.commit(runId, epoch, ops, cursor, opts);
    logCommitted(ctx.log, run, ops, reply, opts.start !== undefined && reply.epoch !== undefined);
    return reply;
  };
  let fed = 0;
  /** Ops fed ahead, to commit with the next intents: results of recorded steps, then whole deferred steps. */
  let ahead: CommitOp[] = [];
  /** How many ops at the head of `ahead` are results of steps whose start is in the log. */
  let recordedAhead = 0;
  let lastCommitAt = performance.now();
  for (let round = 0; ; round++) {
    if (held.lost && !held.released) {
      // The lease expired under us (a long inline step) or was taken over. Results of steps
      // that ran are still worth keeping (the epoch fences the write); then whoever holds
      // or takes the run continues it.
      if (ahead.length > 0) await commit(lease.epoch, ahead);
      await store.wakeRun(runId);
      throw new FencedError('replay lease lost');
    }
    if (round > 0 && ctx.isClosing?.() && !ex.finished) {
      // Draining: do not start the next step here; another worker continues the run
      // (from the log: what the code did after results fed ahead is not kept).
      if (ahead.length > 0) {
        const start = lease.start;
        try {
          const reply = await commit(start ? null : lease.epoch, ahead, '', { start });
          if (start) takeStart(lease, held, reply);
        } catch (err) {
          // A new run somebody else started meanwhile: theirs it is.
          if (start && StaleCommitError.is(err)) return { fed, restart: false };
          throw err;
        }
        return { fed, restart: true };
      }
      await store.wakeRun(runId);
      return { fed, restart: false };
    }
    if (ex.preparing) await ex.prepare();
    const intents = ex.intents(realNow(), recovering);
    recovering = false;
    const ops = ahead.length > 0 ? [...ahead, ...intents.ops] : intents.ops;
    const start = lease.start;
    // A new run with nothing to commit yet: leave it to the usual way (lease, then wait).
    if (ops.length === 0) return { fed, restart: false, notNew: start !== undefined };
    if (held.released) {
      // The last commit released the lease, and what it recorded let the code go on
      // (a sleep already due, a hook conflict): the next replay commits the rest.
      await store.wakeRun(runId);
      return { fed, restart: false };
    }

    const last = intents.inline.length === 0;
    const commitOps = () =>
      commit(start ? null : lease.epoch, ops, ex.cursor, {
        strict: ahead.length > 0,
        releaseOwner: last ? owner : undefined,
        start,
      });
    let running: Promise<InlineRun[]> | undefined;
    /** The commit of these intents, made while their steps still run because the window closed. */
    let early: Promise<CommitReply> | undefined;
    if (canDefer(ctx, ex, intents, lease, held, ahead.length, lastCommitAt)) {
      // Run the new steps now; record their start with their result, or when the window closes.
      const wc = realNow();
      for (const op of intents.ops) (op as { wc?: number }).wc = wc;
      running = runSteps(ctx, ex, runId, intents.inline.map((step) => ({ step, attempt: 1, startedAt: wc })));
      const deadline = onDeadline(lastCommitAt + ctx.commitWindowMs!, () => {
        early = commitOps();
        early.catch(() => undefined); // awaited below, once the steps are done
      });
      const done = await running;
      deadline.cancel();
      if (!early && done.every((r) => r.outcome.type !== 'step_retrying') && !ctx.isClosing?.() && !held.lost) {
        const deferred = [...intents.ops, ...resultOps(done)];
        await ex.feedAhead(deferred.map(aheadEvent));
        ahead = ahead.concat(deferred);
        continue;
      }
      // The window closed while they ran, or a retry needs scheduling: their start is recorded now.
    }

    let reply;
    try {
      reply = await (early ?? commitOps());
    } catch (err) {
      // Steps started ahead of this commit finish before the job hands the run on.
      if (running) await running;
      if (!StaleCommitError.is(err)) throw err;
      if (start) return { fed, restart: false, notNew: true };
      // Something was appended after all: the results of recorded steps stand, what the code did after them does not.
      if (recordedAhead > 0) await commit(lease.epoch, ahead.slice(0, recordedAhead));
      return { fed, restart: true };
    }
    lastCommitAt = performance.now();
    if (start) takeStart(lease, held, reply);
    const { results, own } = reply;
    held.released ||= reply.released;
    if (ahead.length > 0) {
      const confirmed = own.slice(0, ahead.length);
      // Refused results (not expected without unseen events): the log is the truth, replay from it.
      if (confirmed.some((e) => !e)) {
        if (running) await running;
        return { fed, restart: true };
      }
      ex.confirm(confirmed[confirmed.length - 1]!.eventId);
    }
    const events = ahead.length > 0 ? own.slice(ahead.length).filter((e) => e !== undefined) : reply.events;
    ahead = [];
    recordedAhead = 0;
    fed += events.length;
    // Timers and queued steps are added after the commit; a crash in between is repaired by the reconciler.
    if (intents.timers.length > 0 || intents.queued.length > 0) {
      await Promise.all([
        ...intents.timers.map((w) => scheduleTimer(store, runId, w.id, w.resumeAt)),
        ...intents.queued.map((s) => scheduleStep(store, runId, s.id, 1)),
      ]);
    }
    await ex.feed(events);
    if (ex.terminal || intents.inline.length === 0) {
      if (running) await running;
      continue;
    }

    // Steps whose start this commit recorded (a step already settled, or cancelled, is not run).
    const started = intents.inline
      .map((step) => ({ step, res: results[ops.findIndex((o) => o.t === 'step_started' && o.c === step.id)] }))
      .filter((s) => s.res?.r === 'ok');
    const outcomes = running
      ? (await running).filter((r) => started.some((s) => s.step === r.step))
      : await runSteps(ctx, ex, runId, started.map(({ step, res }) => ({ step, attempt: res!.attempt!, startedAt: res!.startedAt! })));
    const after = resultOps(outcomes);
    if (after.length === 0) continue;
    const feedAhead =
      outcomes.every(({ outcome }) => outcome.type !== 'step_retrying') && !ex.waitsOnOutside && !ctx.isClosing?.() && !held.lost;
    if (feedAhead) {
      await ex.feedAhead(after.map(aheadEvent));
      ahead = after;
      recordedAhead = after.length;
      continue;
    }
    const reply2 = await commit(lease.epoch, after, ex.cursor);
    lastCommitAt = performance.now();
    fed += reply2.events.length;
    await Promise.all(
      outcomes.map(({ step, outcome, attempt }, i) =>
        outcome.type === 'step_retrying' && reply2.results[i]?.r === 'ok'
          ? scheduleStep(store, runId, step.id, attempt + 1, outcome.retryAt)
          : undefined,
      ),
    );
    await ex.feed(reply2.events);
  }
}

/** A new run's first commit took the lease: later commits are fenced by its epoch. */
function takeStart(lease: ReplayLease, held: LeaseState, reply: CommitReply): void {
  lease.epoch = reply.epoch!;
  lease.start = undefined;
  held.acquired = true;
  if (!reply.released) held.onAcquired?.();
}

/**
 * May the new inline steps of these intents run before their start is
 * recorded? Only with the lease held (or, for a new run, its first job on its
 * first delivery: the start commit takes the lease and is refused, writing
 * nothing, if another worker started the run meanwhile), nothing outside able to append to the
 * log, only new steps to record (a re-run after a crash records its start
 * first), and the commit window still open.
 */
function canDefer(
  ctx: ReplayContext,
  ex: Execution,
  intents: Intents,
  lease: ReplayLease,
  held: LeaseState,
  aheadOps: number,
  lastCommitAt: number,
): boolean {
  const window = ctx.commitWindowMs ?? 0;
  if (window <= 0 || !(held.acquired || (lease.start && lease.firstDelivery)) || held.released || held.lost) return false;
  const n = intents.inline.length;
  if (n === 0 || intents.ops.length !== 2 * n || intents.queued.length > 0 || intents.timers.length > 0) return false;
  if (intents.inline.some((s) => s.created) || aheadOps + 3 * n > MAX_AHEAD_OPS) return false;
  if (ex.waitsOnOutside || ctx.isClosing?.()) return false;
  return performance.now() - lastCommitAt < window;
}

/** Deadlines of {@link onDeadline}, checked by one shared ticker (a timer each costs more than the steps they watch). */
const deadlines = new Set<{ at: number; fire: () => void }>();
let ticker: ReturnType<typeof setInterval> | undefined;
/** How often the ticker checks the deadlines: a window closes at most this late. */
const TICK_MS = 5;

function tick(): void {
  const now = performance.now();
  for (const d of deadlines) {
    if (d.at <= now) {
      deadlines.delete(d);
      d.fire();
    }
  }
  if (deadlines.size === 0 && ticker) {
    clearInterval(ticker);
    ticker = undefined;
  }
}

/** Calls `fire` once `performance.now()` reaches `at` (give or take {@link TICK_MS}), unless cancelled first. */
function onDeadline(at: number, fire: () => void): { cancel(): void } {
  const d = { at, fire };
  deadlines.add(d);
  ticker ??= setInterval(tick, TICK_MS).unref();
  return { cancel: () => deadlines.delete(d) };
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
  const wc = (op as { wc?: number }).wc ?? realNow();
  const ev: StoredEvent = { eventId: '', type: op.t, correlationId: op.c, data: '', createdAt: wc, wc };
  if (op.t === 'step_created') {
    ev.data = op.d;
    ev.parsed = { stepName: op.n, mode: op.m };
  } else if (op.t === 'step_started') {
    // Deferred steps are new: this is their first attempt (commitRun.lua counts the same).
    ev.data = '{"json":{"attempt":1}}';
    ev.parsed = { attempt: 1 };
  } else ev.data = (op as { d: string }).d;
  return ev;
}

/** Runs steps inline at once (one promise, not a Promise.all, for the usual single step). */
function runSteps(ctx: ReplayContext, ex: Execution, runId: string, steps: { step: StepCall; attempt: number; startedAt: number }[]): Promise<InlineRun[]> {
  if (steps.length === 1) {
    const { step, attempt, startedAt } = steps[0]!;
    return runInline(ctx, ex, runId, step, attempt, startedAt).then((r) => [r]);
  }
  return Promise.all(steps.map(({ step, attempt, startedAt }) => runInline(ctx, ex, runId, step, attempt, startedAt)));
}

function runInline(ctx: ReplayContext, ex: Execution, runId: string, step: StepCall, attempt: number, firstStartedAt: number): Promise<InlineRun> {
  return runStepAttempt({
    runId,
    workflowName: ex.workflowName,
    workflowStartedAt: ex.startedAt,
    publicUrl: ctx.publicUrl,
    stepId: step.id,
    stepName: step.stepName,
    input: step.input!,
    attempt,
    firstStartedAt,
  }).then((outcome) => ({ step, outcome, attempt }));
}
