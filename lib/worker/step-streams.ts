/**
 * The streams of one step attempt (getWritable in a step): its chunks are
 * appended to the run's Redis streams through the worker's store, within the
 * payload limits of `configure()` in this process (defaults otherwise).
 */
import type { Store } from '../redis/store.js';
import type { StepStreams } from '../replay/context.js';
import { getConfig } from '../runtime/config.js';

/** A fresh StepStreams for one attempt (its writers are flushed when the attempt returns). */
export function stepStreams(store: Store): StepStreams {
  return {
    append: (runId, namespace, writer, chunks, close) => store.appendChunks(runId, namespace, writer, chunks, close),
    limits: () => {
      const { maxPayloadBytes, maxPayloadDepth } = getConfig();
      return { maxPayloadBytes, maxPayloadDepth };
    },
    writers: new Set(),
  };
}
