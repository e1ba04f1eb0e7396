/**
 * (placeholder) runs, steps, events and hooks of the World: being written.
 */
import type { Storage } from '@workflow/world';
import type { WorldContext } from './context.js';

/** Builds the World's storage on the context's Redis. */
export function createWorldStorage(_ctx: WorldContext): Storage {
  throw new Error('not built yet');
}
