/**
 * The workflow-queue processor: one job = one wake-up of one run.
 *
 * 1. Take the run's lease (bumps the epoch; appends run_started for a new run).
 * 2. Get an execution: the warm one of this worker if nobody replayed the run
 *    since, else a fresh one replayed from the whole log.
 * 3. Loop: collect intents, commit them (fenced by the epoch), schedule timers
 *    and queued steps, run inline steps, commit their results, feed the new
 *    events back — until the workflow finishes or waits on the outside.
 * 4. Release the lease, keep the execution warm.
 */
import { DelayedError, type Job } from 'bullmq';
import {
  FencedError,
  LeaseBusyError,
  RunExpiredError,
  StaleCommitError,
  WorkflowNotRegisteredError,
  WorkflowRunNotFoundError,
} from '../errors/errors.js';
import { getWorkflow } from '../authoring/registry.js';
import type { Store } from '../redis/store.js';
import type { CommitOp, StoredEvent } from '../redis/store-types.js';
import type { StepCall } from '../replay/calls.js';
import { realNow } from '../replay/determinism.js';
import { Execution } from '../replay/execution.js';
import { deserialize } from '../serialization/codec.js';
import type { CommitBatcher } from './commit-batcher.js';
import type { ExecutionCache } from './execution-cache.js';
import { scheduleStep, scheduleTimer } from './scheduling.js';
import { runStepAttempt } from './step-runner.js';

export interface ReplayContext {
  store: Store;
  /** Commits of concurrent replays, batched (default: one commit per call). */
  commits?: Pick<CommitBatcher, 'commit'>;
  cache: ExecutionCache;
  workerId: string;
  leaseMs: number;
  inlineLimit: number;
  publicUrl: string;
  log: (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;
  /** True once the worker is closing: a replay then stops after its current step and hands the run on. */
  isClosing?: () => boolean;
  /** Called after each processed wake-up (metrics, tests). */
  onReplay?: (info: { runId: string; warm: boolean; eventsFed: number; ms: number }) => void;
}

let ownerSeq = 0;

/** Processes one replay job. */
export async function processReplayJob(ctx: ReplayContext, job: Job<{ runId: string }>, token?: string): Promise<void> {
  const { store } = ctx;
  const runId = job.data.runId;
  const t0 = performance.now();
  const owner = `${ctx.workerId}:${job.id}:${++ownerSeq}`;
  let lease;
  const cached = ctx.cache.peek(runId);
  try {
    lease = await store.acquireRun(runId, owner, ctx.leaseMs, cached && { epoch: cached.epoch, cursor: cached.execution.cursor });
  } catch (err) {
    if (RunExpiredError.is(err) || WorkflowRunNotFoundError.is(err)) {
      ctx.cache.delete(runId);
      return;
    }
    if (LeaseBusyError.is(err)) {
      // Another replay of this run is still going (only after a lost lock): retry shortly.
      await job.moveToDelayed(Date.now() + Math.min(Math.max(err.retryInMs, 20), 250), token);
      throw new DelayedError();
    }
    throw err;
  }
  const { epoch } = lease;
  const held: LeaseState = { lost: false, released: false };
  const renew = setInterval(() => {
    if (held.released) return;
    store.renewLease(runId, owner, ctx.leaseMs).then(
      (ok) => (held.lost ||= !ok && !held.released),
      () => undefined,
    );
  }, Math.max(Math.floor(ctx.leaseMs / 3), 50));
  let execution: Execution | undefined;
  let warm = false;
  let fed = 0;
  let restart = false;
  try {
    execution = lease.warm ? ctx.cache.take(runId, epoch) : undefined;
    // acquireRun returned the first page of events; a long log is read on from there.
    const more = async (page: StoredEvent[]) =>
      page.length < lease.maxEvents ? page : [...page, ...(await store.readAllEvents(runId, page[page.length - 1]!.eventId))];
    if (execution) {
      warm = true;
      const events = await more(lease.events);
      fed += events.length;
      await execution.feed(events);
    } else {
      ctx.cache.delete(runId);
      const wf = getWorkflow(lease.workflowName);
      if (!wf) throw new WorkflowNotRegisteredError(lease.workflowName);
      // A warm answer whose execution is gone (evicted meanwhile): load from the start.
      const input = lease.warm ? (await store.getRun(runId))?.input : lease.input;
      const events = lease.warm ? await store.readAllEvents(runId) : await more(lease.events);
      execution = new Execution({
        runId,
        workflowName: lease.workflowName,
        startedAt: lease.startedAt,
        inlineLimit: ctx.inlineLimit,
        publicUrl: ctx.publicUrl,
      });
      fed += events.length;
      await execution.begin(wf.fn, deserialize<unknown[]>(input) ?? [], events);
      await execution.feed(events);
    }
    const driven = await drive(ctx, execution, runId, epoch, owner, !warm, held);
    fed += driven.fed;
    if (driven.restart) {
      // The execution ran ahead of the log: drop it; the next wake-up replays from the log.
      ctx.cache.delete(runId);
      execution = undefined;
      restart = true;
    } else if (!execution.terminal) ctx.cache.put(runId, execution, epoch);
    else ctx.cache.delete(runId);
  } catch (err) {
    ctx.cache.delete(runId);
    if (FencedError.is(err) || RunExpiredError.is(err)) return; // another worker owns it, or it ended (cancel)
    throw err;
  } finally {
    clearInterval(renew);
    if (!held.released) await store.releaseRun(runId, owner, epoch, execution?.cursor ?? '').catch(() => undefined);
    if (restart) await store.wakeRun(runId).catch((err) => ctx.log('warn', 'could not re-queue the run', { runId, error: (err as Error).message }));
    ctx.onReplay?.({ runId, warm, eventsFed: fed, ms: performance.now() - t0 });
  }
}

/** The replay's hold on the run's lease. */
interface LeaseState {
  /** Renewal found another owner: stop writing. */
  lost: boolean;
  /** A commit released it (the epoch still fences this replay's writes). */
  released: boolean;
}

/** What {@link drive} did. */
interface DriveResult {
  fed: number;
  /** The execution ran ahead of the log (a strict commit was refused): replay the run afresh. */
  restart: boolean;
}

/**
 * Commits intents and runs inline steps until the execution waits on the
 * outside.
 *
 * Round trips: while nothing outside can append to the log (no live hook,
 * pending sleep or queued step), the results of the steps just run are fed to
 * the execution before they are committed, and go in one strict commit with
 * the intents that follow them (the next step_created/step_started, or the
 * run's end). A 3-step workflow is then 4 commits, not 7. The commit that
 * leaves the run waiting or finished also releases the lease.
 */
async function drive(ctx: ReplayContext, ex: Execution, runId: string, epoch: number, owner: string, recovering: boolean, held: LeaseState): Promise<DriveResult> {
  const { store } = ctx;
  const commits = ctx.commits ?? store;
  let fed = 0;
  /** Results fed ahead, to commit with the next intents. */
  let ahead: CommitOp[] = [];
  for (let round = 0; ; round++) {
    if (held.lost && !held.released) {
      // The lease expired under us (a long inline step) or was taken over. Results of steps
      // that ran are still worth keeping (the epoch fences the write); then whoever holds
      // or takes the run continues it.
      if (ahead.length > 0) await commits.commit(runId, epoch, ahead);
      await store.wakeRun(runId);
      throw new FencedError('replay lease lost');
    }
    if (round > 0 && ctx.isClosing?.() && !ex.finished) {
      // Draining: do not start the next step here; another worker continues the run
      // (from the log: what the code did after results fed ahead is not kept).
      if (ahead.length > 0) {
        await commits.commit(runId, epoch, ahead);
        return { fed, restart: true };
      }
      await store.wakeRun(runId);
      return { fed, restart: false };
    }
    await ex.prepare();
    const intents = ex.intents(realNow(), recovering);
    recovering = false;
    const ops = ahead.length > 0 ? [...ahead, ...intents.ops] : intents.ops;
    if (ops.length === 0) return { fed, restart: false };
    if (held.released) {
      // The last commit released the lease, and what it recorded let the code go on
      // (a sleep already due, a hook conflict): the next replay commits the rest.
      await store.wakeRun(runId);
      return { fed, restart: false };
    }
    const last = intents.inline.length === 0;
    let reply;
    try {
      reply = await commits.commit(runId, epoch, ops, ex.cursor, { strict: ahead.length > 0, releaseOwner: last ? owner : undefined });
    } catch (err) {
      if (!StaleCommitError.is(err)) throw err;
      // Something was appended after all: the results stand, what the code did after them does not.
      await commits.commit(runId, epoch, ahead);
      return { fed, restart: true };
    }
    const { results, own } = reply;
    held.released ||= reply.released;
    if (ahead.length > 0) {
      const confirmed = own.slice(0, ahead.length);
      // Refused results (not expected without unseen events): the log is the truth, replay from it.
      if (confirmed.some((e) => !e)) return { fed, restart: true };
      ex.confirm(confirmed[confirmed.length - 1]!.eventId);
    }
    const events = ahead.length > 0 ? own.slice(ahead.length).filter((e) => e !== undefined) : reply.events;
    ahead = [];
    fed += events.length;
    // Timers and queued steps are added after the commit; a crash in between is repaired by the reconciler.
    await Promise.all([
      ...intents.timers.map((w) => scheduleTimer(store, runId, w.id, w.resumeAt)),
      ...intents.queued.map((s) => scheduleStep(store, runId, s.id, 1)),
    ]);
    await ex.feed(events);
    if (ex.terminal || intents.inline.length === 0) continue;

    const started = intents.inline
      .map((step) => ({ step, res: results[ops.findIndex((o) => o.t === 'step_started' && o.c === step.id)] }))
      .filter((s) => s.res?.r === 'ok');
    const outcomes = await Promise.all(started.map(({ step, res }) => runInline(ctx, ex, runId, step, res!.attempt!, res!.startedAt!)));
    const wc = realNow();
    const resultOps: CommitOp[] = outcomes.map(({ step, outcome }) =>
      outcome.type === 'step_retrying'
        ? { t: 'step_retrying', c: step.id, d: outcome.data, ra: outcome.retryAt, wc }
        : { t: outcome.type, c: step.id, d: outcome.data, wc },
    );
    if (resultOps.length === 0) continue;
    const feedAhead =
      outcomes.every(({ outcome }) => outcome.type !== 'step_retrying') && !ex.waitsOnOutside && !ctx.isClosing?.() && !held.lost;
    if (feedAhead) {
      await ex.feedAhead(resultOps.map((op) => ({ type: op.t, correlationId: op.c, data: (op as { d: string }).d, createdAt: wc, wc })));
      ahead = resultOps;
      continue;
    }
    const after = await commits.commit(runId, epoch, resultOps, ex.cursor);
    fed += after.events.length;
    await Promise.all(
      outcomes.map(({ step, outcome, attempt }, i) =>
        outcome.type === 'step_retrying' && after.results[i]?.r === 'ok'
          ? scheduleStep(store, runId, step.id, attempt + 1, outcome.retryAt)
          : undefined,
      ),
    );
    await ex.feed(after.events);
  }
}

async function runInline(ctx: ReplayContext, ex: Execution, runId: string, step: StepCall, attempt: number, firstStartedAt: number) {
  const outcome = await runStepAttempt({
    runId,
    workflowName: ex.workflowName,
    workflowStartedAt: ex.startedAt,
    publicUrl: ctx.publicUrl,
    stepId: step.id,
    stepName: step.stepName,
    input: step.input!,
    attempt,
    firstStartedAt,
  });
  if (outcome.type !== 'step_completed') {
    ctx.log('warn', 'step attempt failed', { runId, stepId: step.id, stepName: step.stepName, attempt, outcome: outcome.type });
  }
  return { step, outcome, attempt };
}

