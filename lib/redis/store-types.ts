/** Types shared by the store, the runtime API and the replay engine. */
import type { RunStatus } from '../domain/run-status.js';

/** Event types: the official vocabulary (see ARCHITECTURE §3). */
export type EventType =
  | 'run_created'
  | 'run_started'
  | 'run_completed'
  | 'run_failed'
  | 'run_cancelled'
  | 'step_created'
  | 'step_started'
  | 'step_retrying'
  | 'step_completed'
  | 'step_failed'
  | 'hook_created'
  | 'hook_conflict'
  | 'hook_received'
  | 'hook_disposed'
  | 'wait_created'
  | 'wait_completed'
  /** A patch marker: the code took the patched branch of patched(id) here (lib/replay/patches.ts). */
  | 'patch_applied'
  /** A hook's timeout passed while it was live (createHook({ timeout })): disposed, token released. Ours. */
  | 'hook_timed_out'
  /** The workflow's createHook({ token }) took the hook start() claimed (`hook_0`). Ours. */
  | 'hook_adopted';

/**
 * What carries the workflow clock: step ops, and the events they append.
 * This is the one definition of `wc`; the Lua scripts store it as the
 * event's `wc` field (includes/appendEvent.lua).
 */
export interface WorkflowClocked {
  /**
   * Workflow clock, epoch ms: chosen by the worker so that it can feed the
   * event before its commit and replays read the same. Set at a run's start,
   * on an inline step's result, and on the creation and start of an inline
   * step recorded after it ran (step_started then also takes it as the step's
   * first start). `Date.now()` in workflow code reads it instead of the
   * event's createdAt (see Execution.step).
   */
  wc?: number;
}

/** One entry of a run's stream, as stored (data is superjson text). */
export interface StoredEvent extends WorkflowClocked {
  /** The stream entry id: strictly increasing within the run. */
  eventId: string;
  type: EventType;
  /** stepId, hookId or waitId; `patch:<id>` for a patch marker; '' for run events. */
  correlationId: string;
  /** superjson text. */
  data: string;
  /** Redis server time, epoch ms. */
  createdAt: number;
  /**
   * The data, already deserialised, on step_created and step_started events a
   * commit of this process appended (rebuilt from its ops, never read back):
   * replay then skips parsing what it wrote itself. Never set on step results.
   */
  parsed?: unknown;
}

/** A hook record as stored in the token hash. */
export interface HookRecord {
  runId: string;
  hookId: string;
  token: string;
  /** superjson text, when the hook has metadata. */
  metadata?: string;
  createdAt: number;
  isWebhook: boolean;
  /** Webhook response mode (superjson text of a stored Response, or 'manual'). */
  respondWith?: string;
  /** Tags (createHook({ tags })): resumeHooks({ tag }) reaches the hook. */
  tags?: string[];
  /** Claim sequence number of a tagged hook (its score in the tag indexes). */
  seq?: number;
  /** When the hook times out (epoch ms; createHook({ timeout })). */
  timeoutAt?: number;
  /** Claimed by start(..., { hook }) and not yet adopted by the workflow's createHook. */
  claimed?: boolean;
}

/** The run hash. */
export interface RunRecord {
  runId: string;
  workflowName: string;
  status: RunStatus;
  input?: string;
  output?: string;
  error?: string;
  createdAt: number;
  startedAt?: number;
  completedAt?: number;
  updatedAt?: number;
  epoch: number;
  /** Last event id a committed replay consumed (the stream's last id is the tail). */
  seen?: string;
  /** The workflow version the run started on (its every replay goes to a worker that registers it). */
  version: string;
  /** Its replay queue's name; absent on a run stored before versions existed (see Store.adoptUnversionedRun). */
  queue?: string;
  /** 'wdk' for a run of the official-SDK World (workflow-redis/world): never replayed or woken by native workers. */
  kind?: string;
}

/** A live worker, as it announces itself in the workers hash (refreshed every {@link PRESENCE_INTERVAL_MS}). */
export interface WorkerPresence {
  workerId: string;
  /** The routes (`name@version`) it registers. */
  routes: string[];
  host: string;
  pid: number;
  startedAt: number;
  /** When it last refreshed its entry (Redis server time, ms). */
  seenAt: number;
}

/** How often a worker refreshes its presence. */
export const PRESENCE_INTERVAL_MS = 5_000;

/** A presence not refreshed for this long is a worker gone without closing (crashed, partitioned). */
export const PRESENCE_TTL_MS = 3 * PRESENCE_INTERVAL_MS;

/**
 * The fields every op has. An op the run's state accepts appends one event
 * (events.ts eventOfOp: the event an op stands for).
 */
interface OpBase {
  /** type: the event type the op appends (and the transition it makes) */ t: EventType;
  /** correlation id: the stepId, hookId or waitId; `patch:<id>` for a patch marker; '' for run ops */ c: string;
}

/**
 * One transition the replay commits (ARGV of commitReplay.lua), with short
 * field names because it is sent to Redis as JSON on every commit.
 */
export type CommitOp =
  | (OpBase & {
      t: 'step_created';
      /** event data (superjson: stepName, input, mode) */ d: string;
      /** step name (the steps hash's StepState.n) */ n: string;
      /** mode: inline in the replay job, or on the step queue */ m: 'inline' | 'queue';
      /** input: the argument list, superjson (StepState.i) */ i: string;
    } & WorkflowClocked)
  | (OpBase & {
      t: 'step_started';
      /** mode the attempt runs in, when it changes the step's (a re-run inline) */ m?: 'inline' | 'queue';
    } & WorkflowClocked)
  | (OpBase & { t: 'step_completed' | 'step_failed'; /** event data (superjson: result, or error) */ d: string } & WorkflowClocked)
  | (OpBase & {
      t: 'step_retrying';
      /** event data (superjson: error) */ d: string;
      /** retry not before (epoch ms; StepState.ra) */ ra: number;
    } & WorkflowClocked)
  | (OpBase & {
      t: 'hook_created';
      /** event data (superjson: token, isWebhook, timeoutAt?, tags?) */ d: string;
      /** token the hook claims in the token hash */ tk: string;
      /** metadata, superjson (HookRecord.metadata) */ md?: string;
      /** is a webhook (HookRecord.isWebhook) */ wh: boolean;
      /** webhook response mode (HookRecord.respondWith) */ rw?: string;
      /** tags (HookRecord.tags) */ tg?: string[];
      /** timeout at (epoch ms; HookRecord.timeoutAt, and a timer under the hook's id) */ to?: number;
    })
  | (OpBase & {
      t: 'hook_adopted';
      /** event data (superjson: timeoutAt?, tags?) */ d: string;
      /** metadata replacing the claim's, superjson */ md?: string;
      /** tags */ tg?: string[];
      /** timeout at (epoch ms) */ to?: number;
    })
  | (OpBase & { t: 'hook_disposed'; /** event data (superjson: {}) */ d: string })
  | (OpBase & { t: 'wait_created'; /** event data (superjson: resumeAt) */ d: string; /** resume at (epoch ms; WaitState.at) */ at: number })
  | (OpBase & { t: 'wait_completed'; /** event data (superjson: resumeAt) */ d: string })
  | (OpBase & { t: 'patch_applied'; /** event data (superjson: patchId, deprecated) */ d: string })
  | (OpBase & {
      t: 'run_completed';
      c: '';
      /** event data (superjson: output) */ d: string;
      /** the return value, superjson (the run hash's output) */ out: string;
    })
  | (OpBase & {
      t: 'run_failed';
      c: '';
      /** event data (superjson: error) */ d: string;
      /** the error record {name, message, stack} as JSON (the run hash's error) */ err: string;
    });

/** What commitReplay.lua says about one op. */
export interface CommitResult {
  r: 'ok' | 'exists' | 'conflict' | 'missing' | 'too_early' | 'skipped';
  id?: string;
  attempt?: number;
  startedAt?: number;
  conflictingRunId?: string;
  at?: number;
  /** Data of an event the script composed itself (hook_conflict). */
  d?: string;
}

/** What a commit returns. */
export interface CommitReply {
  /** One per op, in order. */
  results: CommitResult[];
  /** Events others appended after the caller's cursor (they precede the commit's own). */
  unseen: StoredEvent[];
  /** The event each op appended (undefined where it appended none), in op order. */
  own: (StoredEvent | undefined)[];
  /** unseen, then own: the log after the cursor, in order. */
  events: StoredEvent[];
  /** Server time of the commit (createdAt of its events). */
  now: number;
  /** The lease was released with the commit. */
  released: boolean;
  /** With {@link CommitOptions.start}: the epoch the run's lease now has (it fences the replay's later commits). */
  epoch?: number;
}

/** One run's commit in a batch (Store.commitBatch). */
export interface CommitRequest {
  runId: string;
  epoch: number | null;
  ops: CommitOp[];
  cursor: string;
  opts?: CommitOptions;
}

/** Options of a commit. */
export interface CommitOptions {
  /** Refuse with StaleCommitError when the log has events after the cursor. */
  strict?: boolean;
  /** Release this owner's lease with the commit (kept when unseen events come back). */
  releaseOwner?: string;
  /**
   * A new run's first commit: take its lease and append run_started first
   * (commit with epoch null). Refused with StaleCommitError, writing nothing,
   * unless nobody has started the run yet. The run_started event comes first
   * in the reply's `events`.
   */
  start?: StartSpec;
}

/** What a new run's first commit records about its start (see {@link CommitOptions.start}). */
export interface StartSpec {
  /** Lease owner (unique per job attempt). */
  owner: string;
  /** Lease time to live, ms. */
  ttlMs: number;
  /** The worker's clock when the workflow code began: the run's startedAt and its workflow clock. */
  startedAt: number;
}

/** A step's state in the steps hash (see commitReplay.lua). */
export interface StepState {
  /** name */ n: string;
  /** status */ s: 'pending' | 'running' | 'completed' | 'failed';
  /** attempts started */ a: number;
  /** inline in the replay job, or on the step queue */ m: 'inline' | 'queue';
  /** retry not before (ms) */ ra?: number;
  /** first start (ms) */ st?: number;
  /** input (superjson) */ i?: string;
}

/** A sleep's state in the waits hash. */
export interface WaitState {
  s: 'waiting' | 'completed';
  /** resume at (ms) */ at: number;
  /** 'hook': the timer of a hook's timeout (the wait id is the hook's id), not a sleep */ k?: 'hook';
}
