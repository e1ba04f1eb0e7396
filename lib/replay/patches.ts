/**
 * Patch decisions of one execution: what `patched(id)` and
 * `deprecatePatch(id)` answer, the markers they record, and the checks that
 * turn a history contradicting them into a NondeterminismError.
 *
 * A marker is a `patch_applied` event, correlation id `patch:<id>` (a name,
 * not a position: the calls' positional ids `step_1`, `hook_1`, `wait_1`
 * cannot collide with it), data `{ patchId, deprecated }`. It says: at this
 * point of the run the code took the patched branch.
 *
 * The decision, the first time the code reaches `patched(id)` in an
 * execution (later calls repeat it, recording nothing), looks at the recorded
 * events after the cursor that nothing the code has done so far accounts for
 * (the events of calls it has not made, markers of patches it has not
 * decided, the run's own end), in log order:
 * - the marker of `id` comes first (before any call the code has not made):
 *   true, the history took the patched branch here;
 * - a call the code has not made, or the run's end, comes first: false, the
 *   history passed this point under code without the patch;
 * - nothing (the code is at the tip of its history): true, and the marker is
 *   committed with the round's intents, ahead of the calls that follow it.
 * Markers of other patches are stepped over (the patch calls of one burst may
 * be reordered). Events others append (hook payloads, step results, timers)
 * belong to calls the code has made, so they never decide.
 *
 * Contradictions, found when the replay reaches a marker: the code did not
 * call patched(id) or deprecatePatch(id) before that point, or its call
 * answered false (it came before the calls the history made ahead of the
 * marker). A marker recorded by deprecatePatch(id) is the exception: code
 * without the call replays it (the last step of retiring a patch).
 */
import { NondeterminismError } from '../errors/errors.js';
import type { CommitOp, StoredEvent } from '../redis/store-types.js';
import { deserialize, serialize } from '../serialization/codec.js';
import type { Consumed } from './calls.js';
import { compareEventIds } from './event-ids.js';

/** The event type of a patch marker. */
export const PATCH_EVENT = 'patch_applied';

const PREFIX = 'patch:';

/** The correlation id of the marker of patch `patchId`. */
export const patchCorrelationId = (patchId: string): string => PREFIX + patchId;

/** What a marker's data says (superjson). */
export interface PatchMarkerData {
  patchId: string;
  /** Recorded by deprecatePatch(): code without any call for the patch may replay it. */
  deprecated: boolean;
}

/** What a decision reads of the execution: the recorded history ahead of the code. */
export interface RecordedAhead {
  /** Recorded events by correlation id (the first of each), in log order; consumed ones may still be there. */
  byCall: ReadonlyMap<string, StoredEvent>;
  /** The run's recorded end (run_completed / run_failed), if the log has it. */
  end: StoredEvent | undefined;
  /** Id of the last event consumed ('' before the first). */
  cursor: string;
  /** Has the code made the call with this correlation id? */
  made(correlationId: string): boolean;
  /** Events consumed so far. */
  consumed: number;
}

interface Decision {
  patchId: string;
  /** What patched() answers. */
  applied: boolean;
  /** Asked by deprecatePatch(). */
  deprecated: boolean;
  /** The marker is still to be committed (decided at the tip, not consumed yet). */
  pending: boolean;
  /** The history passed the point without the marker (false, or deprecatePatch on pre-patch history). */
  unmarked: boolean;
  /** Events the execution had consumed when the code decided (names the call a contradicting marker right after meets). */
  at: number;
}

/** The patch decisions of one execution (see the module comment). */
export class Patches {
  /** By correlation id (`patch:<id>`). */
  private readonly decisions = new Map<string, Decision>();
  /** How many decisions have their marker still to commit. */
  private pendingCount = 0;

  /** The decision of patched(id) (`deprecated` false) or deprecatePatch(id) (true), on the history `ahead`. */
  decide(patchId: string, deprecated: boolean, ahead: RecordedAhead): boolean {
    const c = patchCorrelationId(patchId);
    const known = this.decisions.get(c);
    if (known) return known.applied;
    let next: 'marker' | 'passed' | 'tip' = 'tip';
    for (const ev of this.unaccounted(ahead)) {
      if (ev.type === PATCH_EVENT) {
        if (ev.correlationId === c) {
          next = 'marker';
          break;
        }
        continue;
      }
      next = 'passed';
      break;
    }
    const d: Decision = { patchId, applied: next !== 'passed', deprecated, pending: next === 'tip', unmarked: next === 'passed', at: ahead.consumed };
    this.decisions.set(c, d);
    if (d.pending) this.pendingCount++;
    return d.applied;
  }

  /**
   * The recorded events after the cursor that nothing the code did so far
   * accounts for (events of calls it has not made, markers of patches it has
   * not decided, the run's end), in log order: the first event of each.
   */
  private *unaccounted({ byCall, end, cursor, made }: RecordedAhead): Generator<StoredEvent> {
    const after = (ev: StoredEvent) => !cursor || compareEventIds(ev.eventId, cursor) > 0;
    for (const [c, ev] of byCall) if (!made(c) && !this.decisions.has(c) && after(ev)) yield ev;
    if (end && after(end)) yield end;
  }

  /** Consumes a marker from the log; `at`: the events consumed, this one included. */
  consume(ev: StoredEvent, at: number): Consumed {
    const d = this.decisions.get(ev.correlationId);
    const data = deserialize<Partial<PatchMarkerData> | undefined>(ev.data);
    const patchId = typeof data?.patchId === 'string' ? data.patchId : ev.correlationId.slice(PREFIX.length);
    if (!d) {
      if (data?.deprecated === true) return 'quiet';
      throw new NondeterminismError(
        `Replay diverged at patch "${patchId}": the event log records that the workflow code called patched('${patchId}') at this point and took the patched branch, ` +
          `but the code now did not call patched('${patchId}') or deprecatePatch('${patchId}') before reaching it${this.calledInstead(patchId, at)}. ` +
          `Keep patched('${patchId}') at the same place (or replace it with deprecatePatch('${patchId}'), which keeps only the patched branch) ` +
          'until every run that recorded the patch has finished (see docs/PATCHING.md).',
      );
    }
    if (!d.applied) {
      throw new NondeterminismError(
        `Replay diverged at patch "${patchId}": the workflow code called ${d.deprecated ? 'deprecatePatch' : 'patched'}('${patchId}') earlier than the event log records it: ` +
          'there the history had not applied the patch yet (patched() answered false), but the log records the patch applied at a later point. ' +
          `Call patched('${patchId}') at the place where it was when these runs recorded it (see docs/PATCHING.md).`,
      );
    }
    if (d.pending) {
      d.pending = false;
      this.pendingCount--;
    }
    return 'quiet';
  }

  /** The markers to commit with the round's intents (decisions at the tip not in the log yet), in decision order. */
  ops(): CommitOp[] {
    if (this.pendingCount === 0) return [];
    const ops: CommitOp[] = [];
    for (const [c, d] of this.decisions) {
      if (!d.pending) continue;
      const data: PatchMarkerData = { patchId: d.patchId, deprecated: d.deprecated };
      ops.push({ t: PATCH_EVENT, c, d: serialize(data) });
    }
    return ops;
  }

  /**
   * A divergence found after deprecatePatch(id) met a history that passed the
   * point without the marker: that history was made by the code before the
   * patch, which deprecatePatch declares gone. Says so in the error.
   */
  explain(err: unknown): unknown {
    if (!NondeterminismError.is(err)) return err;
    const pre = [...this.decisions.values()].filter((d) => d.deprecated && d.unmarked).map((d) => `'${d.patchId}'`);
    if (pre.length === 0) return err;
    err.message +=
      ` (deprecatePatch(${pre.join(', ')}) ran on a history recorded before that patch: such runs need the code with patched() and both branches until they finish.)`;
    return err;
  }

  /** The other patch calls the code made right before the marker at `at` (the usual mistake: a renamed patch). */
  private calledInstead(patchId: string, at: number): string {
    const others = [...this.decisions.values()].filter((d) => d.at === at - 1 && d.patchId !== patchId && (d.pending || d.unmarked));
    if (others.length === 0) return '';
    return `; it called ${others.map((d) => `${d.deprecated ? 'deprecatePatch' : 'patched'}('${d.patchId}')`).join(', ')} there instead`;
  }
}
