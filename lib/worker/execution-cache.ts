/**
 * Suspended executions kept warm in the worker that last ran them, so a
 * wake-up feeds only the new events. An entry is valid only for the epoch
 * right after its own: if any other replay took the run in between, the
 * worker replays from the log.
 */
import type { Execution } from '../replay/execution.js';

export interface CachedExecution {
  execution: Execution;
  epoch: number;
}

export class ExecutionCache {
  private readonly map = new Map<string, CachedExecution>();
  constructor(private readonly max: number) {}

  /** The warm execution for the epoch `epoch`, if this worker ran the run at `epoch - 1`. */
  take(runId: string, epoch: number): Execution | undefined {
    const hit = this.map.get(runId);
    if (!hit) return undefined;
    this.map.delete(runId);
    return hit.epoch === epoch - 1 ? hit.execution : undefined;
  }

  /** The cached entry, left in place (to tell acquireRun what to load). */
  peek(runId: string): CachedExecution | undefined {
    return this.map.get(runId);
  }

  put(runId: string, execution: Execution, epoch: number): void {
    if (this.max <= 0) return;
    this.map.delete(runId);
    this.map.set(runId, { execution, epoch });
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value!);
  }

  delete(runId: string): void {
    this.map.delete(runId);
  }

  get size(): number {
    return this.map.size;
  }
}
