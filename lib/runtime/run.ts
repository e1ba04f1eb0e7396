/** The `Run` handle: status, return value (no polling), cancel, event log. */
import {
  WorkflowRunCancelledError,
  WorkflowRunFailedError,
  WorkflowRunNotFoundError,
} from '../errors/errors.js';
import type { RunStatus } from '../redis/keys.js';
import type { EventType, RunRecord } from '../redis/store-types.js';
import { deserialize } from '../serialization/codec.js';
import { getStore, getWatcher } from './config.js';
import { assertRunId } from './validate.js';

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
  status: RunStatus;
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

/** Public summary of a stored run record. */
export function toRunInfo(r: RunRecord): RunInfo {
  const d = (n?: number) => (n === undefined ? undefined : new Date(n));
  return {
    runId: r.runId,
    workflowName: r.workflowName,
    status: r.status,
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

  /** Summary: status, timestamps, output or error. */
  info(): Promise<RunInfo> {
    return this.record().then(toRunInfo);
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

  /** Cancels a pending or running run: releases its hook tokens; later step results are refused. */
  async cancel(): Promise<void> {
    await (await getStore()).cancelRun(this.runId);
  }

  /** The event log, oldest first (`after`: an event id to page from; `limit` default 1000). */
  async events(opts: { after?: string; limit?: number } = {}): Promise<WorkflowEvent[]> {
    const store = await getStore();
    const page = await store.readEvents(this.runId, opts.after ?? '', Math.min(Math.max(opts.limit ?? 1000, 1), 10_000));
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
