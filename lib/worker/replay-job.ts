/**
 * The workflow-queue processor: one job = one wake-up of one run.
 *
 * 1. Take the run's lease (bumps the epoch; appends run_started for a new run).
 *    A new run whose job carries a start hint skips this call: its code runs
 *    up to its first intents first, and the first commit takes the lease.
 * 2. Get an execution: the warm one of this worker if nobody replayed the run
 *    since, else a fresh one replayed from the whole log.
 * 3. Drive (drive.ts): collect intents, commit them (fenced by the epoch),
 *    schedule timers and queued steps, run inline steps, commit their results,
 *    feed the new events back — until the workflow finishes or waits on the outside.
 * 4. Release the lease, keep the execution warm.
 *
 * The lease's lifecycle (taking, renewing, release) is the RunLease's (run-lease.ts).
 */
import { DelayedError, type Job } from 'bullmq';
import {
  EventLogRewoundError,
  FencedError,
  LeaseBusyError,
  RunExpiredError,
  WorkflowNotRegisteredError,
  WorkflowRunNotFoundError,
} from '../errors/errors.js';
import { getWorkflow } from '../authoring/registry.js';
import type { StartSpec, StoredEvent } from '../redis/store-types.js';
import { startHint, type ReplayJobData } from '../queue/replay-job-data.js';
import { realNow } from '../replay/determinism.js';
import { Execution } from '../replay/execution.js';
import { deserialize } from '../serialization/codec.js';
import type { ReplayContext } from './context.js';
import { drive } from './drive.js';
import { logRunStarted, noteIfCancelled } from './lifecycle-log.js';
import { RunLease, type AcquiredRun } from './run-lease.js';

let ownerSeq = 0;
const newOwner = (ctx: ReplayContext, job: Job) => `${ctx.workerId}:${job.id}:${++ownerSeq}`;

/** Processes one replay job. */
export async function processReplayJob(ctx: ReplayContext, job: Job<ReplayJobData>, token?: string): Promise<void> {
  const runId = job.data.runId;
  const hint = startHint(job.data);
  const wf = hint && !ctx.cache.peek(runId) ? getWorkflow(hint.workflowName, ctx.route.version) : undefined;
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
    const firstDelivery = job.attemptsMade === 0 && !(job.stalledCounter > 0) && !(job.attemptsStarted > 1);
    const r = await replay(ctx, RunLease.toStart(ctx.store, runId, start, firstDelivery), false, begin);
    if (r !== 'not-new') return;
    // Somebody started the run meanwhile (a re-delivered job): replay it from its log.
  }
  const owner = newOwner(ctx, job);
  let lease: RunLease;
  let acquired: AcquiredRun;
  const cached = ctx.cache.peek(runId);
  try {
    ({ lease, run: acquired } = await RunLease.acquire(ctx.store, runId, owner, ctx.leaseMs, cached && { epoch: cached.epoch, cursor: cached.execution.cursor }));
  } catch (err) {
    if (RunExpiredError.is(err) || WorkflowRunNotFoundError.is(err)) {
      ctx.cache.delete(runId);
      await noteIfCancelled(ctx.store, ctx.log, { runId, workerId: ctx.workerId }, err);
      return;
    }
    if (LeaseBusyError.is(err)) {
      // Another replay of this run is still going (only after a lost lock): retry shortly.
      await job.moveToDelayed(Date.now() + Math.min(Math.max(err.retryInMs, 20), 250), token);
      throw new DelayedError();
    }
    throw err;
  }
  const { epoch } = acquired;
  if (acquired.started) logRunStarted(ctx.log, { runId, workflowName: acquired.workflowName, workerId: ctx.workerId });
  await replay(ctx, lease, true, async () => {
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
    // The run's jobs go to its route's queue, which only workers that register the route consume.
    const workflow = acquired.workflowName === ctx.route.workflowName ? getWorkflow(acquired.workflowName, ctx.route.version) : undefined;
    if (!workflow) throw new WorkflowNotRegisteredError(acquired.workflowName, ctx.route.version);
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

/**
 * One wake-up once the execution is ready to drive: renews the lease, drives,
 * keeps the execution warm or drops it, releases the lease if no commit did.
 * 'not-new': a new run's first commit found the run started already (nothing
 * was written; the caller replays it the usual way).
 */
async function replay(
  ctx: ReplayContext,
  lease: RunLease,
  recovering: boolean,
  load: () => Promise<{ execution: Execution; fed: number; warm?: boolean }>,
): Promise<'done' | 'not-new'> {
  const t0 = performance.now();
  const { runId } = lease;
  // A new run's lease is taken by its first commit, often the one that also releases it: renewed only once held.
  if (lease.acquired) lease.startRenewing();
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
    const driven = await drive(ctx, execution, lease, recovering && !warm);
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
    if (EventLogRewoundError.is(err)) {
      // Redis lost writes this execution consumed: it is ahead of the log. Replay from the log as it is now.
      ctx.log('warn', 'the run lost events this worker had seen (Redis lost acknowledged writes): replaying it from its log', { runId });
      execution = undefined;
      restart = true;
      return 'done';
    }
    // another worker owns it, or it ended (cancel), or it is gone
    if (FencedError.is(err) || RunExpiredError.is(err) || WorkflowRunNotFoundError.is(err)) {
      await noteIfCancelled(ctx.store, ctx.log, { runId, workflowName: execution?.workflowName, workerId: ctx.workerId }, err);
      return 'done';
    }
    throw err;
  } finally {
    const releasing = lease.release(execution?.cursor ?? '');
    if (releasing) await releasing;
    if (restart) await ctx.store.wakeRun(runId).catch((err) => ctx.log('warn', 'could not re-queue the run', { runId, error: (err as Error).message }));
    if (!notNew) {
      const ms = performance.now() - t0;
      ctx.log('debug', 'replay', { runId, workerId: ctx.workerId, warm, eventsFed: fed, ms: Math.round(ms * 10) / 10 });
      ctx.onReplay?.({ runId, warm, eventsFed: fed, ms });
    }
  }
}
