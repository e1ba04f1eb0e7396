/**
 * Waits for runs to finish without polling: the terminal scripts PUBLISH the
 * run id on the prefix's run-finished channel; one subscriber connection per
 * process wakes every waiter of that run. Subscribe first, then read the run
 * hash, so a run that ends in between is not missed.
 */
import type { Redis, Cluster } from 'ioredis';
import type { Store } from '../redis/store.js';
import type { RunRecord } from '../redis/store-types.js';
import { isTerminalStatus } from '../domain/run-status.js';
import { WorkflowRunNotFoundError } from '../errors/errors.js';

export class RunWatcher {
  private sub: Redis | Cluster | undefined;
  private subscribed: Promise<unknown> | undefined;
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(private readonly store: Store) {}

  private ensureSubscribed(): Promise<unknown> {
    if (!this.subscribed) {
      const sub = (this.store.client as Redis).duplicate();
      sub.on('error', () => undefined);
      this.sub = sub;
      const channel = this.store.keys.runFinishedChannel();
      sub.on('message', (_ch: string, runId: string) => {
        const set = this.waiters.get(runId);
        if (set) for (const wake of [...set]) wake();
      });
      // A notice published while the connection was down is lost: after every
      // reconnect (ioredis re-subscribes), wake all waiters to re-read their runs.
      let connectedOnce = false;
      sub.on('ready', () => {
        if (!connectedOnce) {
          connectedOnce = true;
          return;
        }
        sub.subscribe(channel).then(() => {
          for (const set of this.waiters.values()) for (const wake of [...set]) wake();
        }, () => undefined);
      });
      this.subscribed = sub.subscribe(channel);
    }
    return this.subscribed!;
  }

  /** Resolves with the run record once the run has finished. */
  async waitForEnd(runId: string): Promise<RunRecord> {
    await this.ensureSubscribed();
    for (;;) {
      let wake!: () => void;
      const woken = new Promise<void>((r) => (wake = r));
      let set = this.waiters.get(runId);
      if (!set) this.waiters.set(runId, (set = new Set()));
      set.add(wake);
      try {
        const run = await this.store.getRun(runId);
        if (!run) throw new WorkflowRunNotFoundError(runId);
        if (isTerminalStatus(run.status)) return run;
        await woken;
      } finally {
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(runId);
      }
    }
  }

  /** Closes the subscriber connection. */
  async close(): Promise<void> {
    this.sub?.disconnect();
    this.sub = undefined;
    this.subscribed = undefined;
  }
}
