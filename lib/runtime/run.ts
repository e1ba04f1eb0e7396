/** The `Run` handle: status, return value (no polling), cancel, event log. */
import {
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from '../errors/errors.js';
import type { RunStatus } from '../domain/run-status.js';
import { routeId, waitingForWorkerText } from '../domain/route.js';
import type { Store } from '../redis/store.js';
import type { EventType, RunRecord } from '../redis/store-types.js';
import { deserialize } from '../serialization/codec.js';
import { getStore, getStreamMux, getWatcher } from './config.js';
import { assertOutsideWorkflow } from './outside-workflow.js';
import type { ReadableOptions } from './stream-reader.js';
import { assertEventId, assertRunId, checkLimit, MAX_STREAM_ID } from './validate.js';

/** One event of a run's log, with its data rehydrated. */
export interface WorkflowEvent {
  eventId: string;
  type: EventType;
  correlationId: string;
  data: unknown;
  createdAt: Date;
}

/** A run's summary. */
export interface RunInfo {
  runId: string;
  workflowName: string;
  /** The workflow version the run is pinned to (only workers that register it replay the run). */
  version: string;
  status: RunStatus;
  /**
   * Set while the run is pending or running and no live worker registers its
   * workflow version: "waiting for a worker that registers approval@2". Its
   * jobs wait in that version's queues (nothing fails) and it goes on as soon
   * as such a worker starts.
   */
  waitingFor?: string;
  /** The arguments the run was started with. */
  input: unknown[];
  createdAt: Date;
  startedAt?: Date;
  completedAt?: Date;
  /** The return value, when completed. */
  output?: unknown;
  /** The error, when failed. */
  error?: { name?: string; message: string; stack?: string };
}

/** True while a run may still need a worker (its status is pending or running). */
const needsWorker = (r: RunRecord) => r.status === 'pending' || r.status === 'running';

/**
 * The routes (`name@version`) live workers register, read only when one of
 * `runs` may need a worker (else undefined: nothing to say).
 */
export async function liveRoutesFor(store: Store, runs: readonly RunRecord[]): Promise<Set<string> | undefined> {
  if (!runs.some(needsWorker)) return undefined;
  return new Set((await store.liveWorkers()).flatMap((w) => w.routes));
}

/** Public summary of a stored run record (`liveRoutes`: from {@link liveRoutesFor}, to say whether it waits for a worker). */
export function toRunInfo(r: RunRecord, liveRoutes?: Set<string>): RunInfo {
  const d = (n?: number) => (n === undefined ? undefined : new Date(n));
  const route = { workflowName: r.workflowName, version: r.version };
  const waiting = liveRoutes !== undefined && needsWorker(r) && !liveRoutes.has(routeId(route));
  return {
    runId: r.runId,
    workflowName: r.workflowName,
    version: r.version,
    status: r.status,
    ...(waiting ? { waitingFor: waitingForWorkerText(route) } : {}),
    input: deserialize<unknown[]>(r.input) ?? [],
    createdAt: new Date(r.createdAt),
    startedAt: d(r.startedAt),
    completedAt: d(r.completedAt),
    output: r.status === 'completed' ? deserialize(r.output) : undefined,
    error: r.error ? (JSON.parse(r.error) as RunInfo['error']) : undefined,
  };
}

/** A workflow run. Properties read Redis when awaited; nothing is cached. */
export class Run<R = unknown> {
  constructor(readonly runId: string) {}

  private async record(): Promise<RunRecord> {
    const run = await (await getStore()).getRun(this.runId);
    if (!run) throw new WorkflowRunNotFoundError(this.runId);
    return run;
  }

  /** Current status. */
  get status(): Promise<RunStatus> {
    return this.record().then((r) => r.status);
  }

  /** Name of the workflow. */
  get workflowName(): Promise<string> {
    return this.record().then((r) => r.workflowName);
  }

  /** Summary: status, version, timestamps, output or error, and whether it waits for a worker. */
  async info(): Promise<RunInfo> {
    const r = await this.record();
    return toRunInfo(r, await liveRoutesFor(await getStore(), [r]));
  }

  /**
   * Resolves with the workflow's return value when the run completes; rejects
   * with `WorkflowRunFailedError` or `WorkflowRunCancelledError`. Waits on a
   * pub/sub notice, not a polling loop.
   */
  get returnValue(): Promise<R> {
    return (async () => {
      const run = await (await getWatcher()).waitForEnd(this.runId);
      if (run.status === 'completed') return deserialize<R>(run.output);
      if (run.status === 'cancelled') throw new WorkflowRunCancelledError(this.runId);
      throw new WorkflowRunFailedError(this.runId, run.error ? JSON.parse(run.error) : { message: 'unknown error' });
    })();
  }

  /**
   * One of the run's streams (what its steps write with `getWritable()`): the
   * chunks written so far, then live ones as they are written, until the
   * stream is closed (its writer's `close()`, or the run's end). `namespace`:
   * which stream (default the main one); `startIndex`: the first chunk (0,
   * default, the first written; -n: n chunks before the end). A run that does
   * not exist errors the stream with WorkflowRunNotFoundError. All readers of
   * a process share one Redis connection; cancelling a reader frees it.
   *
   * @throws InvalidArgumentError for an invalid namespace or startIndex (before Redis is read).
   */
  getReadable<T = unknown>(opts: ReadableOptions = {}): ReadableStream<T> {
    return getStreamMux().readable<T>(this.runId, opts);
  }

  /**
   * What the run holds in Redis, in bytes (MEMORY USAGE): all its keys, its
   * event log, and its streams (what `getWritable()` wrote).
   */
  async footprint(): Promise<{ totalBytes: number; eventLogBytes: number; streamBytes: number }> {
    await this.record();
    return (await getStore()).runFootprint(this.runId);
  }

  /**
   * Cancels a pending or running run: releases its hook tokens; later step results are refused.
   * Rejects with `UnavailableInWorkflowError` in workflow code (cancel from a step).
   */
  async cancel(): Promise<void> {
    assertOutsideWorkflow('run.cancel()');
    await (await getStore()).cancelRun(this.runId);
  }

  /**
   * The event log, oldest first. `after`: the `eventId` of the last event of
   * the previous page (absent or `''`: from the start); `limit`: an integer
   * from 1 to 10 000 (default 1000).
   * Rejects with `InvalidArgumentError` for other values, before Redis is read.
   */
  async events(opts: { after?: string; limit?: number } = {}): Promise<WorkflowEvent[]> {
    if (opts.after !== undefined && opts.after !== '') assertEventId(opts.after);
    const limit = checkLimit(opts.limit, 10_000, 1000, 'run.events({ limit })');
    // Redis refuses an exclusive range that starts at the largest id; nothing can follow it anyway.
    if (opts.after === MAX_STREAM_ID) return [];
    const store = await getStore();
    const page = await store.readEvents(this.runId, opts.after ?? '', limit);
    if (page.length === 0 && !opts.after && !(await store.getRun(this.runId))) throw new WorkflowRunNotFoundError(this.runId);
    return page.map((e) => ({
      eventId: e.eventId,
      type: e.type,
      correlationId: e.correlationId,
      data: deserialize(e.data),
      createdAt: new Date(e.createdAt),
    }));
  }
}

/** A handle on an existing run (no I/O until a property is awaited). */
export function getRun<R = unknown>(runId: string): Run<R> {
  assertRunId(runId);
  return new Run<R>(runId);
}
