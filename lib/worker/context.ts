/**
 * What the worker's job processors share: the store, the execution cache,
 * the worker's settings and its log (built by createWorker, one per route
 * the worker registers: they differ only in `route`).
 */
import type { Route } from '../domain/route.js';
import type { Logger } from '../log/logger.js';
import type { Store } from '../redis/store.js';
import type { CommitBatcher } from './commit-batcher.js';
import type { ExecutionCache } from './execution-cache.js';

/** The context of the replay and step-queue processors (replay-job.ts, drive.ts, step-job.ts). */
export interface ReplayContext {
  /** The workflow version whose queues these processors consume (every job of them is a run of it). */
  route: Route;
  store: Store;
  /** Commits of concurrent replays, batched (default: one commit per call). */
  commits?: Pick<CommitBatcher, 'commit'>;
  cache: ExecutionCache;
  workerId: string;
  leaseMs: number;
  inlineLimit: number;
  /**
   * New inline steps called within this many ms of the replay's last commit run
   * before their start is recorded (see drive.ts); 0 or unset records each
   * step's start before it runs.
   */
  commitWindowMs?: number;
  publicUrl: string;
  /** The worker's log sink (lifecycle lines at info, replays at debug). */
  log: Logger;
  /** True once the worker is closing: a replay then stops after its current step and hands the run on. */
  isClosing?: () => boolean;
  /** Called after each processed wake-up (metrics, tests). */
  onReplay?: (info: { runId: string; warm: boolean; eventsFed: number; ms: number }) => void;
}
