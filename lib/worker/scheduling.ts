/**
 * Jobs on a route's step queue (`steps/<name>@<version>`): step deliveries
 * and sleep timers (delayed jobs), taken only by workers that register the
 * run's workflow version. Job ids are deterministic, so re-adding one
 * (reconciler, recovery) is a no-op while the job exists.
 */
import type { Route } from '../domain/route.js';
import type { Store } from '../redis/store.js';
import { realNow } from '../replay/determinism.js';

/** Job data of a step delivery. */
export interface StepJobData {
  runId: string;
  stepId: string;
}

/** Job data of a sleep's timer. */
export interface WaitJobData {
  runId: string;
  waitId: string;
}

const JOB_DEFAULTS = { removeOnComplete: true, removeOnFail: 1000 } as const;

/** Delivers attempt `attempt` of a step, at `notBefore` (ms) at the earliest. */
export function scheduleStep(store: Store, route: Route, runId: string, stepId: string, attempt: number, notBefore = 0): Promise<unknown> {
  const delay = Math.max(0, notBefore - realNow());
  const data: StepJobData = { runId, stepId };
  return store.queues(route).steps.add('step', data, { ...JOB_DEFAULTS, jobId: `s-${runId}-${stepId}-${attempt}`, delay });
}

/** Fires a sleep's timer at `resumeAt` (ms). */
export function scheduleTimer(store: Store, route: Route, runId: string, waitId: string, resumeAt: number): Promise<unknown> {
  const delay = Math.max(0, resumeAt - realNow());
  const data: WaitJobData = { runId, waitId };
  return store.queues(route).steps.add('wait', data, { ...JOB_DEFAULTS, jobId: `w-${runId}-${waitId}`, delay });
}
