/**
 * (placeholder) The official runtime's queue on BullMQ: see the helper's task.
 */
import type { Queue as WorldQueue } from '@workflow/world';
import type { WorldContext } from './context.js';

/** The queue half of a World, plus its background work. */
export interface WorldQueueParts extends WorldQueue {
  /** Starts the BullMQ workers that deliver messages over HTTP. */
  start(): Promise<void>;
  /** Stops the workers and closes the queues. */
  close(): Promise<void>;
}

/** Builds the World's queue on the context's Redis. */
export function createWorldQueue(_ctx: WorldContext): WorldQueueParts {
  throw new Error('not built yet');
}
