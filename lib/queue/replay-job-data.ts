/**
 * Data of a replay job on the workflow queue. Every replay job names its run;
 * the job that `start()` adds for a new run may also carry a start hint: the
 * workflow name and the input, so that a worker can run the new run's code up
 * to its first intents and take the lease with the first commit (one Redis
 * call less per run; see lib/redis/lua/includes/startRun.lua). The hint is a
 * copy: the run hash and the log stay the source of truth, and a worker that
 * cannot use it (the run was started meanwhile) replays from the log.
 */

/** The job data of a replay job. */
export interface ReplayJobData {
  runId: string;
  /** Present on a new run's first job when its input is small. */
  start?: { workflowName: string; input: string };
}

/**
 * Largest serialised input (UTF-16 code units) carried in a start hint:
 * a bigger one is only in the run hash (the worker reads it from there), so
 * the job hash does not hold a second copy of a large input.
 */
export const START_HINT_MAX_INPUT = 8 * 1024;

/** The job data JSON of a new run's first job ('' = no hint: the template's `{runId}`). */
export function startHintJobData(runId: string, workflowName: string, input: string): string {
  if (input.length > START_HINT_MAX_INPUT) return '';
  const data: ReplayJobData = { runId, start: { workflowName, input } };
  return JSON.stringify(data);
}

/** The start hint of a job's data, when it has a well-formed one. */
export function startHint(data: unknown): { workflowName: string; input: string } | undefined {
  const s = (data as ReplayJobData | undefined)?.start;
  return s && typeof s.workflowName === 'string' && typeof s.input === 'string' ? s : undefined;
}
