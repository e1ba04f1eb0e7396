/**
 * workflow-redis/worker: run workflow replays and steps in this process.
 * @packageDocumentation
 */
export { createWorker } from './worker/create-worker.js';
export type { WorkerOptions, WorkflowWorker, WorkerLogger } from './worker/create-worker.js';
export { reconcile } from './worker/reconciler.js';
export type { ReconcileReport } from './worker/reconciler.js';
