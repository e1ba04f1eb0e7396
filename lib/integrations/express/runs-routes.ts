/**
 * Operator routes over runs: listing, status, the paginated event log, the
 * inspector's timeline, a run's stream (SSE or NDJSON), and cancel. Inputs are validated into
 * InvalidArgumentError (400); everything else is the runtime API's errors,
 * mapped by the router's error middleware.
 */
import type { RequestHandler, Router } from 'express';
import { readTimelineEvents } from '../../inspect/read-timeline.js';
import { InvalidArgumentError } from '../../errors/errors.js';
import { isRunStatus, RUN_STATUSES } from '../../domain/run-status.js';
import { versionProblem } from '../../domain/route.js';
import { listRuns } from '../../runtime/list-runs.js';
import { getRun } from '../../runtime/run.js';
import { assertEventId, assertWorkflowNameFilter, parseRunsCursor } from '../../runtime/validate.js';
import { toJsonSafe } from '../../inspect/json-safe.js';
import { toRunView, type RunView } from '../../inspect/run-view.js';
import { queryInt, queryString, routeParam } from './request-params.js';
import { buildTimeline, type TimelineItem } from '../../inspect/timeline.js';
import { writeRunStream } from '../run-stream-http.js';

/** Default and largest page of `GET /runs/:runId/events`. */
const EVENTS_DEFAULT_LIMIT = 100;
const EVENTS_MAX_LIMIT = 1000;
/** The timeline reads at most this many events; longer logs are flagged `truncated`. */
const TIMELINE_MAX_EVENTS = 10_000;

/** The response of `GET /runs/:runId/timeline`. */
export interface TimelineResponse {
  run: RunView;
  items: TimelineItem[];
  eventCount: number;
  /** True when the log was longer than the timeline reads. */
  truncated: boolean;
}

async function runView(runId: string): Promise<RunView> {
  return toRunView(await getRun(runId).info());
}


/**
 * Mounts the run routes on `router`, each behind `guards` (the app's auth
 * middleware, if any).
 */
export function mountRunRoutes(router: Router, guards: RequestHandler[]): void {
  router.get('/runs', ...guards, async (req, res) => {
    const status = queryString(req, 'status');
    if (status !== undefined && !isRunStatus(status)) {
      throw new InvalidArgumentError(`Query parameter "status": use one of ${RUN_STATUSES.join(', ')}.`);
    }
    const workflowName = queryString(req, 'workflowName');
    assertWorkflowNameFilter(workflowName, 'Query parameter "workflowName"');
    const version = queryString(req, 'version');
    if (version !== undefined) {
      const problem = versionProblem(version);
      if (problem) throw new InvalidArgumentError(`Query parameter "version": ${problem}`);
      if (workflowName === undefined) throw new InvalidArgumentError('Query parameter "version" needs "workflowName": a version belongs to a workflow.');
    }
    const cursor = queryString(req, 'cursor');
    // The runtime checks these too; checking here first words the message for HTTP.
    parseRunsCursor(cursor, 'Query parameter "cursor"');
    const limit = queryInt(req, 'limit', 50, 1000);
    const page = await listRuns({ status, workflowName, version, cursor, limit });
    res.json({ data: page.data.map(toRunView), cursor: page.cursor, hasMore: page.hasMore });
  });

  router.get('/runs/:runId', ...guards, async (req, res) => {
    res.json(await runView(routeParam(req, 'runId')));
  });

  // The run's stream (getWritable chunks), live: SSE for `Accept: text/event-stream`, NDJSON otherwise.
  router.get('/runs/:runId/stream', ...guards, async (req, res) => {
    const query = { namespace: queryString(req, 'namespace'), startIndex: queryString(req, 'startIndex') };
    await writeRunStream(routeParam(req, 'runId'), query, req.headers, res);
  });

  router.get('/runs/:runId/events', ...guards, async (req, res) => {
    const after = queryString(req, 'after');
    if (after !== undefined) assertEventId(after, 'Query parameter "after"');
    const limit = queryInt(req, 'limit', EVENTS_DEFAULT_LIMIT, EVENTS_MAX_LIMIT);
    const run = getRun(routeParam(req, 'runId'));
    // Existence first: a page after a cursor is empty for unknown runs too.
    await run.status;
    const page = await run.events({ after, limit: limit + 1 });
    const data = page.slice(0, limit).map((e) => ({
      eventId: e.eventId,
      type: e.type,
      correlationId: e.correlationId,
      data: toJsonSafe(e.data),
      createdAt: e.createdAt.toISOString(),
    }));
    // The cursor is always where to continue from, so a client can poll a live run's log for new events.
    const cursor = data.length > 0 ? data[data.length - 1]!.eventId : (after ?? null);
    res.json({ data, cursor, hasMore: page.length > limit });
  });

  router.get('/runs/:runId/timeline', ...guards, async (req, res) => {
    const run = await runView(routeParam(req, 'runId'));
    const { events, truncated } = await readTimelineEvents(run.runId, TIMELINE_MAX_EVENTS);
    const body: TimelineResponse = { run, items: buildTimeline(events), eventCount: events.length, truncated };
    res.json(body);
  });

  router.post('/runs/:runId/cancel', ...guards, async (req, res) => {
    // A JSON content type cannot come from a cross-site HTML form: with cookie auth this stops CSRF cancels.
    if (!req.is('application/json')) {
      throw new InvalidArgumentError('Send the cancel request with content-type: application/json (a guard against cross-site form posts).');
    }
    // Unknown run → WorkflowRunNotFoundError (404); a completed or failed run → EntityConflictError (409).
    const run = getRun(routeParam(req, 'runId'));
    await run.cancel();
    res.json(await runView(run.runId));
  });
}

export { toRunView, type RunView };
