/**
 * The current workflow execution and the current step are found through
 * AsyncLocalStorage, so workflow and step code stay plain async functions.
 *
 * Workflow-side code sees the execution only as a {@link WorkflowHandle}: the
 * few members the authoring API and the determinism patches use, not the
 * engine's state (its feed, intents or cursor). Declaring the handle here,
 * rather than importing the Execution class, also keeps this module below
 * execution.ts in the import graph (no import circle, type-only ones included).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { HookCall } from './calls.js';

/** What `createHook()` and `createWebhook()` ask of the execution. */
export interface HookRequest {
  /** A custom token; a token recorded in the log wins over it (a change is a divergence). */
  token?: string;
  /** Mints a new token when neither a custom nor a recorded one exists. */
  newToken: () => string;
  /** Serialised hook metadata. */
  metadata?: string;
  isWebhook: boolean;
  /** Webhook response mode: 'manual', a stored Response (superjson), or none (202). */
  respondWith?: string;
  /** Resolves the response mode asynchronously (a static Response). */
  respondWithAsync?: () => Promise<string>;
  /** createHook({ timeout }), resolved to epoch ms (a recorded hook keeps its recorded timer). */
  timeoutAt?: number;
  /** createHook({ tags }), validated. */
  tags?: string[];
}

/** The running workflow execution, as workflow-side code sees it (implemented by the replay engine's Execution). */
export interface WorkflowHandle {
  readonly runId: string;
  readonly workflowName: string;
  /** When the run started (ms since the epoch). */
  readonly startedAt: number;
  /** Base URL for webhook URLs. */
  readonly publicUrl: string;
  /** Workflow clock (Date.now() inside the workflow). */
  now(): number;
  /** Workflow PRNG (Math.random() inside the workflow). */
  random(): number;
  /** A step call from workflow code. */
  callStep(stepName: string, args: unknown[], maxRetries: number): Promise<unknown>;
  /** A hook created by workflow code. */
  createHook(opts: HookRequest): HookCall;
  /** A sleep until `resumeAt` (ms since the epoch; a recorded value wins on replay). */
  sleep(resumeAt: number): Promise<void>;
  /** `patched(id)` (`deprecated` false) or `deprecatePatch(id)`: does this run take the patched branch? */
  patched(patchId: string, deprecated: boolean): boolean;
}

/** Set while workflow code runs (and in every continuation of it). */
export const workflowStorage = new AsyncLocalStorage<WorkflowHandle>();

/** What `getStepMetadata()` returns inside a step. */
export interface StepMetadata {
  stepName: string;
  /** Stable across retries: use it as the idempotency key of external calls. */
  stepId: string;
  /** 1-based attempt number. */
  attempt: number;
  /** When the first attempt started. */
  stepStartedAt: Date;
}

/** What `getWorkflowMetadata()` returns in a workflow or a step. */
export interface WorkflowMetadata {
  workflowName: string;
  workflowRunId: string;
  workflowStartedAt: Date;
  /** Base URL of the app (for webhook URLs). */
  url: string;
}

/**
 * Where the chunks a step writes to the run's streams go (getWritable), set by
 * the worker that runs the step: it appends them to Redis, in the limits of
 * payloads. The writers a step opened are flushed before its result is recorded.
 */
export interface StepStreams {
  /** Appends serialised chunks to one of the run's streams (and closes it with `close`); resolves once they are stored. */
  append(runId: string, namespace: string, writer: { stepId: string; attempt: number }, chunks: string[], close: boolean): Promise<unknown>;
  /** Size and depth limits of one chunk (those of hook payloads). */
  limits(): { maxPayloadBytes: number; maxPayloadDepth: number };
  /** The step's open writers, flushed when the step returns (filled by getWritable). */
  readonly writers: Set<{ flush(): Promise<void> }>;
}

/** What a running step's context holds. */
export interface StepContext {
  step: StepMetadata;
  workflow: WorkflowMetadata;
  /** Absent when the step runs outside a worker (called outside a workflow). */
  streams?: StepStreams;
}

/** Set while a step function runs. */
export const stepStorage = new AsyncLocalStorage<StepContext>();

/** The execution of the workflow code running now, if any. */
export function currentExecution(): WorkflowHandle | undefined {
  return workflowStorage.getStore();
}
