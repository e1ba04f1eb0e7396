/**
 * The worker's lifecycle lines: run started, completed, failed, cancelled;
 * step retrying, failed (and completed, at debug). Each is logged after the
 * write that recorded the transition succeeded, from what its reply says was
 * recorded (an op whose result is 'ok', a start the script took), so a
 * transition is logged once however the commit window, the batcher or a
 * re-run replay group its writes: a refused or duplicate write logs nothing.
 *
 * Fields: ids, workflow and step names, attempt numbers, times, and error
 * names and messages (user text, cut short). Never a payload, an input or
 * output, a token or a webhook URL.
 */
import { RunExpiredError } from '../errors/errors.js';
import type { Logger } from '../log/logger.js';
import type { CommitOp, CommitReply } from '../redis/store-types.js';
import type { StepErrorInfo } from './step-runner.js';

/** What the log says about a run (every line carries these). */
export interface RunLogContext {
  runId: string;
  workflowName: string;
  workerId: string;
  /** The run's start (epoch ms), for the duration on its last line. */
  startedAt?: number;
}

/** What the log says about a step result op (the op itself carries only ids and data). */
export interface StepLogInfo {
  stepName: string;
  attempt: number;
  error?: StepErrorInfo;
  retryAt?: number;
}

/** Step facts of the result ops drive() builds, until their commit's reply is known. */
const stepFacts = new WeakMap<CommitOp, StepLogInfo>();

/** Attaches what the log needs to a step result op (kept in memory, never sent to Redis). */
export function withStepInfo<T extends CommitOp>(op: T, info: StepLogInfo): T {
  stepFacts.set(op, info);
  return op;
}

/** Longest error message logged: a message can quote a large value. */
const MAX_MESSAGE = 500;

function clip(s: string): string {
  return s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE)}…` : s;
}

function errorFields(e: { name?: unknown; message?: unknown } | undefined): { name: string; message: string } | undefined {
  if (!e) return undefined;
  return { name: typeof e.name === 'string' ? e.name : 'Error', message: clip(typeof e.message === 'string' ? e.message : String(e.message)) };
}

/** The run_failed op's error record ({name, message, stack} as JSON), name and message only. */
function runError(op: Extract<CommitOp, { t: 'run_failed' }>): { name: string; message: string } | undefined {
  try {
    return errorFields(JSON.parse(op.err) as { name?: unknown; message?: unknown });
  } catch {
    return undefined;
  }
}

function durationMs(run: RunLogContext): { durationMs?: number } {
  return run.startedAt ? { durationMs: Math.max(0, Date.now() - run.startedAt) } : {};
}

/** The line of a recorded step result (inline or from the step queue). */
export function logStepResult(log: Logger, run: RunLogContext, stepId: string, type: CommitOp['t'], info: StepLogInfo | undefined): void {
  const base = { runId: run.runId, workflowName: run.workflowName, workerId: run.workerId, stepId, stepName: info?.stepName, attempt: info?.attempt };
  if (type === 'step_retrying') {
    const retryAt = info?.retryAt ? new Date(info.retryAt).toISOString() : undefined;
    log('info', 'step retrying', { ...base, retryAt, error: errorFields(info?.error) });
  } else if (type === 'step_failed') {
    log('warn', 'step failed', { ...base, error: errorFields(info?.error) });
  } else if (type === 'step_completed') {
    log('debug', 'step completed', base);
  }
}

/** The line of a run's start, once the write that appended run_started succeeded. */
export function logRunStarted(log: Logger, run: RunLogContext): void {
  log('info', 'run started', { runId: run.runId, workflowName: run.workflowName, workerId: run.workerId });
}

/** The line of a run's cancellation, for the one observer that noted it first (Store.noteCancelled). */
export function logRunCancelled(log: Logger, run: Omit<RunLogContext, 'workflowName'> & { workflowName?: string }): void {
  log('info', 'run cancelled', { runId: run.runId, workflowName: run.workflowName, workerId: run.workerId });
}

/** The lines of what a successful commit recorded: its start, then its ops in order, those with result 'ok'. */
export function logCommitted(log: Logger, run: RunLogContext, ops: readonly CommitOp[], reply: CommitReply, started: boolean): void {
  if (started) logRunStarted(log, run);
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i]!;
    if (reply.results[i]?.r !== 'ok') continue;
    switch (op.t) {
      case 'run_completed':
        log('info', 'run completed', { runId: run.runId, workflowName: run.workflowName, workerId: run.workerId, ...durationMs(run) });
        break;
      case 'run_failed':
        log('warn', 'run failed', { runId: run.runId, workflowName: run.workflowName, workerId: run.workerId, ...durationMs(run), error: runError(op) });
        break;
      case 'step_retrying':
      case 'step_failed':
      case 'step_completed':
        logStepResult(log, run, op.c, op.t, stepFacts.get(op));
        break;
    }
  }
}

/**
 * A write refused because the run has finished: when it was cancelled, the
 * first observer on any worker logs the cancellation (Store.noteCancelled
 * decides which), the others stay quiet.
 */
export async function noteIfCancelled(
  store: { noteCancelled(runId: string): Promise<boolean> },
  log: Logger,
  run: Omit<RunLogContext, 'workflowName'> & { workflowName?: string },
  err: unknown,
): Promise<void> {
  if (!RunExpiredError.is(err) || err.status !== 'cancelled') return;
  if (await store.noteCancelled(run.runId).catch(() => false)) logRunCancelled(log, run);
}
