/**
 * `workflow-redis/world`: the official Workflow SDK's `World` (spec 5,
 * `@workflow/world@5.0.0-beta.21`) on workflow-redis's Redis data model.
 *
 * Set `WORKFLOW_TARGET_WORLD=workflow-redis/world` (the runtime calls
 * {@link createWorld}), or pass `createWorld()` to `setWorld()`.
 */
import type { World } from '@workflow/world';
import { resolveWorldConfig, WorldContext, type WorldConfig } from './context.js';
import { createWorldStorage } from './storage.js';
import { createWorldQueue } from './queue.js';
import { createWorldStreams } from './streams.js';
import { reenqueueActiveRuns } from './recovery.js';

export type { WorldConfig } from './context.js';

/** The spec version this World implements: what `workflow` 5.0.0-beta.35 to .41 require. */
export const WORLD_SPEC_VERSION = 5;

/**
 * Creates a World on Redis. Nothing connects until the first call; `start()`
 * begins delivering queue messages, `close()` releases every connection.
 */
export function createWorld(config?: WorldConfig): World {
  const ctx = new WorldContext(resolveWorldConfig(config));
  const storage = createWorldStorage(ctx);
  const q = createWorldQueue(ctx);
  const s = createWorldStreams(ctx);
  let started: Promise<void> | undefined;
  return {
    specVersion: WORLD_SPEC_VERSION,
    // Redis writes take well under a millisecond: flush every stream write at once.
    streamFlushIntervalMs: 0,
    ...storage,
    streams: s.streams,
    getDeploymentId: q.getDeploymentId,
    queue: q.queue,
    createQueueHandler: q.createQueueHandler,
    start() {
      started ??= (async () => {
        await q.start();
        if (ctx.config.recoverActiveRuns) {
          const log = ctx.config.logger;
          const n = await reenqueueActiveRuns(storage.runs, q.queue, (error, runId) => log('warn', 'world: could not re-enqueue an active run', { runId, error }));
          if (n > 0) log('info', 'world: re-enqueued the active runs on start', { runs: n });
        }
      })();
      return started;
    },
    async close() {
      await q.close();
      await s.close();
      await ctx.close();
    },
  };
}

export default createWorld;
