/**
 * The event a commit op stands for: what commitRun.lua appends for an op it
 * accepts, rebuilt in TypeScript without reading it back. The store rebuilds
 * the events of a commit from its ops and results (Store.commit); the worker
 * builds them before the commit, to feed a step's creation, start and result
 * ahead of the log (drive.ts). Both go through {@link eventOfOp}, so the two
 * agree with each other; the Lua side writes the same fields.
 */
import { plainData } from '../serialization/codec.js';
import type { CommitOp, StoredEvent, WorkflowClocked } from './store-types.js';

/** What an op's event has that the op does not say. */
export interface OpEventFacts {
  /** The event's stream id ('' for an event fed ahead of its commit: known once committed). */
  id: string;
  /** Its createdAt: the commit's server time (or, fed ahead, the workflow clock). */
  createdAt: number;
  /** step_started: the attempt it starts (the steps hash counts them; a step fed ahead is on its first). */
  attempt?: number;
  /** hook_created: the data of the hook_conflict the script appended instead (the token was taken). */
  conflictData?: string;
  /** The event's workflow clock, when it has one. */
  wc?: number;
}

/** The event an op appended, or (fed ahead) will append. */
export function eventOfOp(op: CommitOp, facts: OpEventFacts): StoredEvent {
  const ev: StoredEvent = { eventId: facts.id, type: op.t, correlationId: op.c, data: '', createdAt: facts.createdAt };
  switch (op.t) {
    case 'step_started':
      ev.data = plainData({ attempt: facts.attempt });
      ev.parsed = { attempt: facts.attempt };
      break;
    case 'step_created':
      ev.data = op.d;
      ev.parsed = { stepName: op.n, mode: op.m };
      break;
    case 'hook_created':
      if (facts.conflictData !== undefined) {
        ev.type = 'hook_conflict';
        ev.data = facts.conflictData;
      } else ev.data = op.d;
      break;
    default:
      ev.data = op.d;
  }
  if (facts.wc !== undefined) ev.wc = facts.wc;
  return ev;
}

/** The workflow clock an op carries (step ops; undefined on the others). */
export function opClock(op: CommitOp): number | undefined {
  return (op as WorkflowClocked).wc;
}
