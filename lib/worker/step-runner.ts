/**
 * Runs one attempt of a step function and decides what the log records:
 * step_completed, step_failed (FatalError, retries exhausted, unregistered
 * step) or step_retrying (with the retry time). A result that cannot be
 * stored (unserialisable, nested too deeply) counts as the attempt's error.
 */
import { FatalError, RetryableError, StepNotRegisteredError } from '../errors/errors.js';
import { getStep } from '../authoring/registry.js';
import { resolveDuration } from '../authoring/duration.js';
import { stepStorage, workflowStorage, type StepStreams } from '../replay/context.js';
import { flushStepStreams } from '../authoring/streams.js';
import { realNow } from '../replay/determinism.js';
import { deserialize, serialize } from '../serialization/codec.js';

/** Default delay before retrying a step that threw a plain error (as the official SDK: 1 s). */
export const DEFAULT_RETRY_DELAY_MS = 1000;

export interface StepAttempt {
  runId: string;
  workflowName: string;
  workflowStartedAt: number;
  publicUrl: string;
  stepId: string;
  stepName: string;
  /** superjson of the argument array. */
  input: string;
  attempt: number;
  firstStartedAt: number;
  /** Where getWritable() chunks go (lib/worker/step-streams.ts). */
  streams?: StepStreams;
}

/** A failed attempt's error as the log shows it (the stack stays in the event log). */
export interface StepErrorInfo {
  name: string;
  message: string;
}

export type StepOutcome =
  | { type: 'step_completed'; data: string }
  | { type: 'step_failed'; data: string; error: StepErrorInfo }
  | { type: 'step_retrying'; data: string; retryAt: number; error: StepErrorInfo };

function errorData(err: unknown, message?: string): { data: string; error: StepErrorInfo } {
  const e = err instanceof Error ? err : new Error(String(err));
  const error = { name: e.name, message: message ?? e.message };
  return { data: serialize({ error: { ...error, stack: e.stack } }), error };
}

/** The public, globally unique step id (stable across retries). */
export function publicStepId(runId: string, stepId: string): string {
  return `${runId}/${stepId}`;
}

/** Runs one attempt outside any workflow context. */
export async function runStepAttempt(a: StepAttempt): Promise<StepOutcome> {
  const def = getStep(a.stepName);
  if (!def) return { type: 'step_failed', ...errorData(new StepNotRegisteredError(a.stepName)) };
  const meta = {
    streams: a.streams,
    step: { stepName: a.stepName, stepId: publicStepId(a.runId, a.stepId), attempt: a.attempt, stepStartedAt: new Date(a.firstStartedAt) },
    workflow: { workflowName: a.workflowName, workflowRunId: a.runId, workflowStartedAt: new Date(a.workflowStartedAt), url: a.publicUrl },
  };
  let data: string;
  try {
    // The arguments are read inside the step's context: a stream handle among them becomes a writable of this step.
    const result = await workflowStorage.exit(() => stepStorage.run(meta, () => def.fn(...(deserialize<unknown[]>(a.input) ?? []))));
    // Every chunk the step wrote is stored before its result is: a reader sees them before the run goes on.
    const flushing = flushStepStreams(a.streams);
    if (flushing) await flushing;
    // A result that cannot be stored (unserialisable, too deeply nested) is this attempt's failure:
    // the retry rules apply as to a thrown error (a step may return another shape on its next attempt).
    data = serialize(result, `the result of step "${a.stepName}"`, { wrapKey: 'result' });
  } catch (err) {
    if (FatalError.is(err)) return { type: 'step_failed', ...errorData(err) };
    if (a.attempt >= def.maxRetries + 1) {
      const msg = err instanceof Error ? err.message : String(err);
      return { type: 'step_failed', ...errorData(err, `Step "${a.stepName}" failed after ${a.attempt} attempt(s): ${msg}`) };
    }
    let retryAt = realNow() + DEFAULT_RETRY_DELAY_MS;
    if (RetryableError.is(err) && err.retryAfter !== undefined) {
      try {
        retryAt = resolveDuration(err.retryAfter, realNow());
      } catch {
        /* an invalid retryAfter falls back to the default delay */
      }
    }
    return { type: 'step_retrying', ...errorData(err), retryAt };
  }
  return { type: 'step_completed', data };
}
