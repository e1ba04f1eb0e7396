/**
 * The workflow-queue processor: one job = one wake-up of one run.
 *
 * 1. Take the run's lease (bumps the epoch; appends run_started for a new run).
 *    A new run whose job carries a start hint skips this call: its code runs
 *    up to its first intents first, and the first commit takes the lease.
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
import type { CommitOp, StartSpec, StoredEvent } from '../redis/store-types.js';
import { startHint, type ReplayJobData } from '../queue/replay-job-data.js';
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
const newOwner = (ctx: ReplayContext, job: Job) => `${ctx.workerId}:${job.id}:${++ownerSeq}`;

/** Processes one replay job. */
export async function processReplayJob(ctx: ReplayContext, job: Job<ReplayJobData>, token?: string): Promise<void> {
  const runId = job.data.runId;
  const hint = startHint(job.data);
  const wf = hint && !ctx.cache.peek(runId) ? getWorkflow(hint.workflowName) : undefined;
  const args = wf ? hintArgs(hint!.input) : undefined;
  if (hint && wf && args) {
    // A new run: run its code up to the first intents, then take the lease with the first commit.
    const startedAt = Math.max(realNow(), job.timestamp);
    const start: StartSpec = { owner: newOwner(ctx, job), ttlMs: ctx.leaseMs, startedAt };
    const begin = async () => {
      const ex = new Execution({ runId, workflowName: hint.workflowName, startedAt, inlineLimit: ctx.inlineLimit, publicUrl: ctx.publicUrl });
      await ex.begin(wf.fn, args, []);
      return { execution: ex, fed: 0 };
    };
    const r = await replay(ctx, runId, { epoch: 0, start }, start.owner, false, begin);
    if (r !== 'not-new') return;
    // Somebody started the run meanwhile (a re-delivered job): replay it from its log.
  }
  const owner = newOwner(ctx, job);
  let lease;
  const cached = ctx.cache.peek(runId);
  try {
    lease = await ctx.store.acquireRun(runId, owner, ctx.leaseMs, cached && { epoch: cached.epoch, cursor: cached.execution.cursor });
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
  const acquired = lease;
  const { epoch } = acquired;
  await replay(ctx, runId, { epoch }, owner, true, async () => {
    // acquireRun returned the first page of events; a long log is read on from there.
    const more = async (page: StoredEvent[]) =>
      page.length < acquired.maxEvents ? page : [...page, ...(await ctx.store.readAllEvents(runId, page[page.length - 1]!.eventId))];
    const warmExecution = acquired.warm ? ctx.cache.take(runId, epoch) : undefined;
    if (warmExecution) {
      const events = await more(acquired.events);
      await warmExecution.feed(events);
      return { execution: warmExecution, fed: events.length, warm: true };
    }
    ctx.cache.delete(runId);
    const workflow = getWorkflow(acquired.workflowName);
    if (!workflow) throw new WorkflowNotRegisteredError(acquired.workflowName);
    // A warm answer whose execution is gone (evicted meanwhile): load from the start.
    const input = acquired.warm ? (await ctx.store.getRun(runId))?.input : acquired.input;
    const events = acquired.warm ? await ctx.store.readAllEvents(runId) : await more(acquired.events);
    const ex = new Execution({
      runId,
      workflowName: acquired.workflowName,
      startedAt: acquired.startedAt,
      inlineLimit: ctx.inlineLimit,
      publicUrl: ctx.publicUrl,
    });
    await ex.begin(workflow.fn, deserialize<unknown[]>(input) ?? [], events);
    await ex.feed(events);
    return { execution: ex, fed: events.length };
  });
}

/** The arguments of a start hint; undefined when they do not parse (the run hash has the input too). */
function hintArgs(input: string): unknown[] | undefined {
  try {
    return deserialize<unknown[]>(input) ?? [];
  } catch {
    return undefined;
  }
}

/** The lease a replay writes under: its epoch, or, for a new run not started yet, the start to commit first. */
interface ReplayLease {
  epoch: number;
  start?: StartSpec;
}

/**
 * One wake-up once the execution is ready to drive: renews the lease, drives,
 * keeps the execution warm or drops it, releases the lease if no commit did.
 * 'not-new': a new run's first commit found the run started already (nothing
 * was written; the caller replays it the usual way).
 */
async function replay(
  ctx: ReplayContext,
  runId: string,
  lease: ReplayLease,
  owner: string,
  recovering: boolean,
  load: () => Promise<{ execution: Execution; fed: number; warm?: boolean }>,
): Promise<'done' | 'not-new'> {
  const t0 = performance.now();
  const held: LeaseState = { lost: false, released: false, acquired: !lease.start };
  const renew = setInterval(() => {
    if (held.released || !held.acquired) return;
    ctx.store.renewLease(runId, owner, ctx.leaseMs).then(
      (ok) => (held.lost ||= !ok && !held.released),
      () => undefined,
    );
  }, Math.max(Math.floor(ctx.leaseMs / 3), 50));
  let execution: Execution | undefined;
  let warm = false;
  let fed = 0;
  let restart = false;
  let notNew = false;
  try {
    const loaded = await load();
    execution = loaded.execution;
    warm = loaded.warm === true;
    fed = loaded.fed;
    const driven = await drive(ctx, execution, runId, lease, owner, recovering && !warm, held);
    fed += driven.fed;
    if (driven.notNew) {
      notNew = true;
      return 'not-new';
    }
    if (driven.restart) {
      // The execution ran ahead of the log: drop it; the next wake-up replays from the log.
      ctx.cache.delete(runId);
      execution = undefined;
      restart = true;
    } else if (!execution.terminal) ctx.cache.put(runId, execution, lease.epoch);
    else ctx.cache.delete(runId);
    return 'done';
  } catch (err) {
    ctx.cache.delete(runId);
    // another worker owns it, or it ended (cancel), or it is gone
    if (FencedError.is(err) || RunExpiredError.is(err) || WorkflowRunNotFoundError.is(err)) return 'done';
    throw err;
  } finally {
    clearInterval(renew);
    if (held.acquired && !held.released) {
      await ctx.store.releaseRun(runId, owner, lease.epoch, execution?.cursor ?? '').catch(() => undefined);
    }
    if (restart) await ctx.store.wakeRun(runId).catch((err) => ctx.log('warn', 'could not re-queue the run', { runId, error: (err as Error).message }));
    if (!notNew) ctx.onReplay?.({ runId, warm, eventsFed: fed, ms: performance.now() - t0 });
  }
}

/** The replay's hold on the run's lease. */
interface LeaseState {
  /** Renewal found another owner: stop writing. */
  lost: boolean;
  /** A commit released it (the epoch still fences this replay's writes). */
  released: boolean;
  /** The replay holds (or held) the lease: false until a new run's first commit takes it. */
  acquired: boolean;
}

/** What {@link drive} did. */
interface DriveResult {
  fed: number;
  /** The execution ran ahead of the log (a strict commit was refused): replay the run afresh. */
  restart: boolean;
  /** A new run's first commit found it started already: nothing was written. */
  notNew?: boolean;
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
async function drive(ctx: ReplayContext, ex: Execution, runId: string, lease: ReplayLease, owner: string, recovering: boolean, held: LeaseState): Promise<DriveResult> {
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
      if (ahead.length > 0) await commits.commit(runId, lease.epoch, ahead);
      await store.wakeRun(runId);
      throw new FencedError('replay lease lost');
    }
    if (round > 0 && ctx.isClosing?.() && !ex.finished) {
      // Draining: do not start the next step here; another worker continues the run
      // (from the log: what the code did after results fed ahead is not kept).
      if (ahead.length > 0) {
        await commits.commit(runId, lease.epoch, ahead);
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
    let reply;
    try {
      reply = await commits.commit(runId, start ? null : lease.epoch, ops, ex.cursor, {
        strict: ahead.length > 0,
        releaseOwner: last ? owner : undefined,
        start,
      });
    } catch (err) {
      if (!StaleCommitError.is(err)) throw err;
      if (start) return { fed, restart: false, notNew: true };
      // Something was appended after all: the results stand, what the code did after them does not.
      await commits.commit(runId, lease.epoch, ahead);
      return { fed, restart: true };
    }
    if (start) {
      lease.epoch = reply.epoch!;
      lease.start = undefined;
      held.acquired = true;
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
    if (intents.timers.length > 0 || intents.queued.length > 0) {
      await Promise.all([
        ...intents.timers.map((w) => scheduleTimer(store, runId, w.id, w.resumeAt)),
        ...intents.queued.map((s) => scheduleStep(store, runId, s.id, 1)),
      ]);
    }
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
    const after = await commits.commit(runId, lease.epoch, resultOps, ex.cursor);
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

