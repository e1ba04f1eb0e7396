/** A run as JSON for people and tools (the run routes, the CLI). */
import type { RunInfo } from '../runtime/run.js';
import { toJsonSafe } from './json-safe.js';

/** A run as plain JSON: timestamps as ISO strings, the error without its stack, no input. */
export interface RunView {
  runId: string;
  workflowName: string;
  version: string;
  status: RunInfo['status'];
  /** While no live worker registers the run's version: "waiting for a worker that registers approval@2". */
  waitingFor?: string;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
  /** From creation to the end (finished runs only). */
  durationMs?: number;
  output?: unknown;
  error?: { name?: string; message: string };
}

/** RunInfo → RunView. The stack stays out: it names server files and is in the event log for those who need it. */
export function toRunView(info: RunInfo): RunView {
  const view: RunView = {
    runId: info.runId,
    workflowName: info.workflowName,
    version: info.version,
    status: info.status,
    createdAt: info.createdAt.toISOString(),
  };
  if (info.waitingFor) view.waitingFor = info.waitingFor;
  if (info.startedAt) view.startedAt = info.startedAt.toISOString();
  if (info.completedAt) {
    view.completedAt = info.completedAt.toISOString();
    view.durationMs = info.completedAt.getTime() - info.createdAt.getTime();
  }
  if (info.status === 'completed') view.output = toJsonSafe(info.output);
  if (info.error) view.error = { name: info.error.name, message: info.error.message };
  return view;
}
