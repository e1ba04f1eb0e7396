/**
 * Recovery at `world.start()`, as the official worlds do it: every pending
 * and running run gets a workflow message, so a run whose message was never
 * queued (start() failed after run_created) or whose process died resumes.
 * Replays are idempotent (the event log decides), so a run that had a
 * message queued already is only replayed once more. Nothing is logged but
 * counts and run ids.
 */
import type { Queue, Storage } from '@workflow/world';

/** Re-enqueues the active runs; returns how many got a message. */
export async function reenqueueActiveRuns(runs: Storage['runs'], queue: Queue['queue'], warn: (msg: string, runId: string) => void): Promise<number> {
  const ns = process.env.WORKFLOW_QUEUE_NAMESPACE;
  const prefix = ns ? `__${ns}_wkf_workflow_` : '__wkf_workflow_';
  let n = 0;
  for (const status of ['pending', 'running'] as const) {
    let cursor: string | undefined;
    for (;;) {
      const page = await runs.list({ status, resolveData: 'none', pagination: { cursor, limit: 1000 } });
      for (const run of page.data) {
        try {
          await queue(`${prefix}${run.workflowName}` as Parameters<Queue['queue']>[0], { runId: run.runId }, { idempotencyKey: `recover:${run.runId}` });
          n++;
        } catch (err) {
          warn((err as Error).message, run.runId);
        }
      }
      if (!page.hasMore || !page.cursor) break;
      cursor = page.cursor;
    }
  }
  return n;
}
