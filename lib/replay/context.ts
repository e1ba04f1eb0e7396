/**
 * The current workflow execution and the current step are found through
 * AsyncLocalStorage, so workflow and step code stay plain async functions.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Execution } from './execution.js';

/** Set while workflow code runs (and in every continuation of it). */
export const workflowStorage = new AsyncLocalStorage<Execution>();

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

/** Set while a step function runs. */
export const stepStorage = new AsyncLocalStorage<{ step: StepMetadata; workflow: WorkflowMetadata }>();

/** The execution of the workflow code running now, if any. */
export function currentExecution(): Execution | undefined {
  return workflowStorage.getStore();
}
