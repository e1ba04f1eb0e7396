/**
 * The runtime calls that write (start, resumes, cancel) are for routes, jobs
 * and steps. Called in workflow code they would run again on every replay
 * (start() would create a new run each time, with a fresh id), so they are
 * refused there with a typed error before anything is written.
 */
import { UnavailableInWorkflowError } from '../errors/errors.js';
import { currentExecution } from '../replay/context.js';

/**
 * The error to reject `call` with when it is made in workflow code, else
 * undefined. Steps run outside the workflow's context: calls made there pass.
 */
export function refusedInWorkflow(call: string): UnavailableInWorkflowError | undefined {
  if (!currentExecution()) return undefined;
  return new UnavailableInWorkflowError(
    `${call} is not available in workflow code: it would run again on every replay of the workflow. ` +
      'Call it from a step (defineStep) and call that step from the workflow.',
  );
}

/** Throws {@link refusedInWorkflow}'s error when `call` is made in workflow code. */
export function assertOutsideWorkflow(call: string): void {
  const err = refusedInWorkflow(call);
  if (err) throw err;
}
