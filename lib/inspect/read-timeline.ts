/** Reads a run's log for the timeline views (inspector, CLI). */
import type { EventType } from '../redis/store-types.js';
import { getStore } from '../runtime/config.js';
import { deserialize } from '../serialization/codec.js';
import type { TimelineEvent } from './timeline.js';

/**
 * Event types whose data the timeline reads. The others carry payloads,
 * results or outputs the timeline never shows, so they are not deserialised.
 */
const TIMELINE_DATA: ReadonlySet<EventType> = new Set<EventType>([
  'run_failed',
  'step_created',
  'step_started',
  'step_retrying',
  'step_failed',
  'hook_created',
  'hook_conflict',
  'wait_created',
  'patch_applied',
]);

/** The first events of a run, at most `max`, with only what the timeline needs deserialised. */
export async function readTimelineEvents(runId: string, max: number): Promise<{ events: (TimelineEvent & { eventId: string })[]; truncated: boolean }> {
  const store = await getStore();
  const events: (TimelineEvent & { eventId: string })[] = [];
  let after = '';
  while (events.length < max) {
    const page = await store.readEvents(runId, after, Math.min(1000, max - events.length));
    for (const e of page) {
      const data = TIMELINE_DATA.has(e.type) ? deserialize(e.data) : undefined;
      // A step that ran inline is recorded with its result, after it ran: its events carry the
      // worker's clock of when they happened (wc), which is what a timeline should show.
      const at = e.wc !== undefined && e.type.startsWith('step_') ? e.wc : e.createdAt;
      events.push({ eventId: e.eventId, type: e.type, correlationId: e.correlationId, createdAt: at, data });
    }
    if (page.length === 0) return { events, truncated: false };
    after = page[page.length - 1]!.eventId;
  }
  return { events, truncated: (await store.readEvents(runId, after, 1)).length > 0 };
}
