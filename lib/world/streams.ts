/**
 * (placeholder) The official runtime's streams on the native stream storage: see the helper's task.
 */
import type { Streamer } from '@workflow/world';
import type { WorldContext } from './context.js';

/** The World's `streams` member, plus closing its readers. */
export interface WorldStreamsParts {
  streams: Streamer['streams'];
  /** Ends every live reader and frees its connection. */
  close(): Promise<void>;
}

/** Builds the World's streams on the context's Redis. */
export function createWorldStreams(_ctx: WorldContext): WorldStreamsParts {
  throw new Error('not built yet');
}
