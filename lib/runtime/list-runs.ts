/** listRuns: paginated run listing from the sorted-set indexes. */
import { InvalidArgumentError } from '../errors/errors.js';
import { isRunStatus, RUN_STATUSES, type RunStatus } from '../domain/run-status.js';
import { getStore } from './config.js';
import { versionProblem } from '../domain/route.js';
import { liveRoutesFor, toRunInfo, type RunInfo } from './run.js';
import { assertWorkflowNameFilter, checkLimit, parseRunsCursor } from './validate.js';

/** Options of {@link listRuns}. */
export interface ListRunsOptions {
  status?: RunStatus;
  workflowName?: string;
  /** Only runs pinned to this version of `workflowName` (requires `workflowName`). */
  version?: string;
  /** The `cursor` of the previous page (a decimal integer string; omit it for the first page). */
  cursor?: string | null;
  /** Page size, 1-1000 (default 50). */
  limit?: number;
}

/** One page of runs, newest first. */
export interface RunPage {
  data: RunInfo[];
  cursor: string | null;
  hasMore: boolean;
}

/**
 * Lists runs, newest first, filtered by status and workflow name. Bad
 * options — an unknown status, a workflowName that is not a workflow name,
 * a limit outside 1-1000, a cursor that is not one this function returned —
 * reject with `InvalidArgumentError` before Redis is read.
 */
export async function listRuns(opts: ListRunsOptions = {}): Promise<RunPage> {
  if (opts.status !== undefined && !isRunStatus(opts.status)) {
    throw new InvalidArgumentError(`listRuns({ status }): use one of ${RUN_STATUSES.join(', ')}.`);
  }
  assertWorkflowNameFilter(opts.workflowName);
  if (opts.version !== undefined) {
    const problem = versionProblem(opts.version);
    if (problem) throw new InvalidArgumentError(`listRuns({ version }): ${problem}`);
    if (opts.workflowName === undefined) throw new InvalidArgumentError('listRuns({ version }): a version belongs to a workflow: pass workflowName too.');
  }
  const limit = checkLimit(opts.limit, 1000, 50, 'listRuns({ limit })');
  const offset = parseRunsCursor(opts.cursor);
  const store = await getStore();
  const ids = await store.listRunIds({ status: opts.status, workflowName: opts.workflowName, version: opts.version, offset, limit: limit + 1 });
  const hasMore = ids.length > limit;
  const runs = (await Promise.all(ids.slice(0, limit).map((id) => store.getRun(id)))).filter((r) => r !== null);
  const live = await liveRoutesFor(store, runs);
  return {
    data: runs.map((r) => toRunInfo(r, live)),
    cursor: hasMore ? String(offset + limit) : null,
    hasMore,
  };
}
