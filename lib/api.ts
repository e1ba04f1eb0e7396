/**
 * workflow-redis/api: the runtime API, called from routes, jobs and scripts
 * (never inside a workflow).
 * @packageDocumentation
 */
export {
  configure,
  closeWorkflowClient,
  DEFAULT_MAX_PAYLOAD_BYTES,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  MAX_PAYLOAD_DEPTH_LIMIT,
  DEFAULT_CONNECT_TIMEOUT_MS,
} from './runtime/config.js';
export type { WorkflowConfig } from './runtime/config.js';
export type { Logger, LoggerOption, LogLevel, LogLevelSetting, StructuredLogger } from './log/logger.js';
export { checkRedis } from './redis/ready.js';
export { resumeHook, getHookByToken } from './runtime/hooks.js';
export type { HookInfo } from './runtime/hooks.js';
export { resumeHooks, RESUME_HOOKS_BATCH, DEFAULT_RESUME_HOOKS_MAX, RESUME_HOOKS_MAX_LIMIT } from './runtime/resume-by-tag.js';
export type { ResumeHooksSelector, ResumeHooksOptions } from './runtime/resume-by-tag.js';
export { MAX_HOOK_TAGS, MAX_TAG_BYTES } from './runtime/validate.js';
export { resumeWebhook, WebhookResponseTimeoutError, DEFAULT_WEBHOOK_RESPONSE_TIMEOUT_MS } from './runtime/webhooks.js';
export { start } from './runtime/start.js';
export type { StartOptions, StartHook } from './runtime/start.js';
export { getRun, Run } from './runtime/run.js';
export type { RunInfo, WorkflowEvent } from './runtime/run.js';
export type { ReadableOptions } from './runtime/stream-reader.js';
export { listRuns } from './runtime/list-runs.js';
export type { ListRunsOptions, RunPage } from './runtime/list-runs.js';
export type { RunStatus } from './domain/run-status.js';
export {
  WorkflowError,
  HookNotFoundError,
  HookConflictError,
  HookTimeoutError,
  TooManyHooksError,
  PayloadTooLargeError,
  SerializationError,
  UnregisteredClassError,
  InvalidArgumentError,
  WorkflowRunNotFoundError,
  WorkflowRunFailedError,
  WorkflowRunCancelledError,
  WorkflowNotRegisteredError,
  StepNotRegisteredError,
  NondeterminismError,
  UnavailableInWorkflowError,
  EntityConflictError,
  RunExpiredError,
  RedisUnavailableError,
  StreamClosedError,
} from './errors/errors.js';
export { HookPayloadValidationError } from './authoring/hooks.js';
