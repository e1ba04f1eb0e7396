/**
 * Defence in depth against lost wake-ups: finds pending and running runs that
 * have nothing queued although they should, and re-schedules them. Runs when a
 * worker starts and then periodically, on one worker at a time (a leader lock).
 *
 * - a run whose log has events no replay consumed (tail != seen), or that never
 *   started, and has no replay job → woken;
 * - a sleep still waiting → its timer job is re-added (deterministic id: no-op if present);
 * - a step waiting for delivery → its step job is re-added (same);
 * - a run stored before workflow versions existed → pinned to version 1 first.
 *
 * It also drops finished runs whose retention has passed from the run indexes.
 */
import type { Store } from '../redis/store.js';
import { scheduleStep, scheduleTimer } from './scheduling.js';

export interface ReconcileReport {
  scanned: number;
  woken: number;
  timers: number;
  steps: number;
  /** Finished runs dropped from the run indexes after their retention. */
  pruned: number;
}

/** One pass over the pending and running runs. */
export async function reconcile(store: Store): Promise<ReconcileReport> {
  const report: ReconcileReport = { scanned: 0, woken: 0, timers: 0, steps: 0, pruned: 0 };
  for (let n = 500; n === 500; ) {
    n = await store.pruneExpiredRuns(500);
    report.pruned += n;
  }
  for (const status of ['pending', 'running'] as const) {
    for (let start = 0; ; start += 200) {
      const ids = await store.runIdsByStatus(status, start, 200);
      if (ids.length === 0) break;
      await Promise.all(ids.map((runId) => reconcileRun(store, runId, report)));
      if (ids.length < 200) break;
    }
  }
  return report;
}

async function reconcileRun(store: Store, runId: string, report: ReconcileReport): Promise<void> {
  report.scanned++;
  const run = await store.getRun(runId);
  if (!run || (run.status !== 'pending' && run.status !== 'running')) return;
  // A run of the official-SDK World in a shared prefix: the official runtime owns it.
  if (run.kind === 'wdk') return;
  // A run stored before versions existed: pinned to version 1 now, and woken below if it is behind.
  if (!run.queue) await store.adoptUnversionedRun(run);
  const behind = run.status === 'pending' || (await store.lastEventId(runId)) !== (run.seen ?? '');
  const route = { workflowName: run.workflowName, version: run.version };
  if (behind && !(await store.queues(route).replays.getDeduplicationJobId(runId))) {
    await store.wakeRun(runId).catch(() => undefined);
    report.woken++;
  }
  const [waits, steps] = await Promise.all([store.getWaits(runId), store.getSteps(runId)]);
  for (const [waitId, w] of Object.entries(waits)) {
    if (w.s !== 'waiting') continue;
    await scheduleTimer(store, route, runId, waitId, w.at);
    report.timers++;
  }
  for (const [stepId, s] of Object.entries(steps)) {
    // Pending queue steps wait for delivery; pending inline steps wait for a retry on the queue.
    if (s.s !== 'pending' || (s.m === 'inline' && s.a === 0)) continue;
    await scheduleStep(store, route, runId, stepId, s.a + 1, s.ra ?? 0);
    report.steps++;
  }
}

/** Runs `reconcile` now and every `intervalMs` while this process holds the leader lock. */
export function startReconciler(store: Store, intervalMs: number, onError: (err: unknown) => void): () => void {
  let stopped = false;
  const lockKey = store.keys.reconcilerLock();
  const tick = async () => {
    if (stopped) return;
    try {
      const got = await store.client.set(lockKey, '1', 'PX', Math.max(intervalMs - 100, 100), 'NX');
      if (got) await reconcile(store);
    } catch (err) {
      onError(err);
    }
  };
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}
