/** listRuns: paginated run listing from the sorted-set indexes. */
import { InvalidArgumentError } from '../errors/errors.js';
import { RUN_STATUSES, type RunStatus } from '../redis/keys.js';
import { getStore } from './config.js';
import { toRunInfo, type RunInfo } from './run.js';

/** Options of {@link listRuns}. */
export interface ListRunsOptions {
  status?: RunStatus;
  workflowName?: string;
  /** The `cursor` of the previous page. */
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

/** Lists runs, newest first, filtered by status and workflow name. */
export async function listRuns(opts: ListRunsOptions = {}): Promise<RunPage> {
  if (opts.status !== undefined && !RUN_STATUSES.includes(opts.status)) {
    throw new InvalidArgumentError(`Unknown status ${JSON.stringify(opts.status)}: use one of ${RUN_STATUSES.join(', ')}.`);
  }
  const limit = opts.limit ?? 50;
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new InvalidArgumentError('limit must be an integer from 1 to 1000.');
  const offset = opts.cursor ? Number(opts.cursor) : 0;
  if (!Number.isInteger(offset) || offset < 0) throw new InvalidArgumentError('Invalid cursor: pass the cursor of the previous page.');
  const store = await getStore();
  const ids = await store.listRunIds({ status: opts.status, workflowName: opts.workflowName, offset, limit: limit + 1 });
  const hasMore = ids.length > limit;
  const runs = await Promise.all(ids.slice(0, limit).map((id) => store.getRun(id)));
  return {
    data: runs.filter((r) => r !== null).map(toRunInfo),
    cursor: hasMore ? String(offset + limit) : null,
    hasMore,
  };
}
