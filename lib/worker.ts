/**
 * workflow-redis/worker: run workflow replays and steps in this process.
 * @packageDocumentation
 */
export { createWorker } from './worker/create-worker.js';
export { RedisUnavailableError } from './errors/errors.js';
export { checkRedis, DEFAULT_CONNECT_TIMEOUT_MS } from './redis/ready.js';
export type { Logger, LoggerOption, LogLevel, LogLevelSetting, StructuredLogger } from './log/logger.js';
export type { WorkerOptions, WorkflowWorker, WorkerLogger } from './worker/create-worker.js';
export { reconcile } from './worker/reconciler.js';
export type { ReconcileReport } from './worker/reconciler.js';
