/**
 * The step-queue processor: step deliveries (`step`) and sleep timers (`wait`).
 * Results are recorded once (single-winner scripts); completion, failure and
 * fired timers wake the run in the same script.
 */
import { DelayedError, type Job } from 'bullmq';
import { EntityConflictError, RunExpiredError, TooEarlyError, WorkflowRunNotFoundError } from '../errors/errors.js';
import { logStepResult, noteIfCancelled } from './lifecycle-log.js';
import type { ReplayContext } from './context.js';
import { scheduleStep, type StepJobData, type WaitJobData } from './scheduling.js';
import { runStepAttempt } from './step-runner.js';
import { stepStreams } from './step-streams.js';

/** Errors that mean "nothing left to do for this job". */
function isSettled(err: unknown): boolean {
  return RunExpiredError.is(err) || EntityConflictError.is(err) || WorkflowRunNotFoundError.is(err);
}

async function delayUntil(job: Job, at: number, token?: string): Promise<never> {
  await job.moveToDelayed(Math.max(at, Date.now() + 1), token);
  throw new DelayedError();
}

/** Processes one job of the step queue. */
export async function processStepQueueJob(ctx: ReplayContext, job: Job, token?: string): Promise<void> {
  if (job.name === 'wait') return fireTimer(ctx, job as Job<WaitJobData>, token);
  if (job.name === 'step') return deliverStep(ctx, job as Job<StepJobData>, token);
  ctx.log('warn', 'unknown job on the step queue', { name: job.name, id: job.id });
}

async function fireTimer(ctx: ReplayContext, job: Job<WaitJobData>, token?: string): Promise<void> {
  try {
    await ctx.store.completeWait(job.data.runId, job.data.waitId);
  } catch (err) {
    if (TooEarlyError.is(err)) return delayUntil(job, err.retryAt, token);
    if (isSettled(err)) return noteIfCancelled(ctx.store, ctx.log, { runId: job.data.runId, workerId: ctx.workerId }, err);
    throw err;
  }
}

async function deliverStep(ctx: ReplayContext, job: Job<StepJobData>, token?: string): Promise<void> {
  const { store } = ctx;
  const { runId, stepId } = job.data;
  let started;
  try {
    started = await store.startStep(runId, stepId);
  } catch (err) {
    if (TooEarlyError.is(err)) return delayUntil(job, err.retryAt, token);
    if (isSettled(err)) return noteIfCancelled(store, ctx.log, { runId, workerId: ctx.workerId }, err);
    throw err;
  }
  const run = await store.getRun(runId);
  if (!run) return;
  const outcome = await runStepAttempt({
    runId,
    workflowName: run.workflowName,
    workflowStartedAt: run.startedAt ?? run.createdAt,
    publicUrl: ctx.publicUrl,
    stepId,
    stepName: started.stepName,
    input: started.input,
    attempt: started.attempt,
    firstStartedAt: started.startedAt,
    streams: stepStreams(store),
  });
  const logRun = { runId, workflowName: run.workflowName, workerId: ctx.workerId };
  const info = {
    stepName: started.stepName,
    attempt: started.attempt,
    error: outcome.type === 'step_completed' ? undefined : outcome.error,
    retryAt: outcome.type === 'step_retrying' ? outcome.retryAt : undefined,
  };
  try {
    if (outcome.type === 'step_retrying') {
      await store.finishStep(runId, stepId, outcome.type, outcome.data, outcome.retryAt);
      logStepResult(ctx.log, logRun, stepId, outcome.type, info);
      await scheduleStep(store, ctx.route, runId, stepId, started.attempt + 1, outcome.retryAt);
    } else {
      await store.finishStep(runId, stepId, outcome.type, outcome.data);
      logStepResult(ctx.log, logRun, stepId, outcome.type, info);
    }
  } catch (err) {
    // a duplicate delivery lost the race, or the run ended
    if (isSettled(err)) return noteIfCancelled(store, ctx.log, logRun, err);
    throw err;
  }
}
