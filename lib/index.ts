/**
 * workflow-redis: the authoring API, imported by workflow and step code.
 * @packageDocumentation
 */
export { defineWorkflow, defineStep } from './authoring/workflow.js';
export type { WorkflowOptions } from './authoring/workflow.js';
export { getWritable } from './authoring/streams.js';
export type { StreamOptions } from './authoring/streams.js';
export { createHook, defineHook, sleep, Hook, HookPayloadValidationError } from './authoring/hooks.js';
export type { HookOptions, TypedHook } from './authoring/hooks.js';
export { patched, deprecatePatch } from './authoring/patch.js';
export { createWebhook, Webhook, WEBHOOK_PATH } from './authoring/webhook.js';
export type { WebhookOptions } from './authoring/webhook.js';
export type { WebhookRequest } from './webhooks/http-codec.js';
export { getWorkflowMetadata, getStepMetadata } from './authoring/metadata.js';
export type { Workflow, StepOptions } from './authoring/registry.js';
export { listWorkflows } from './authoring/registry.js';
export type { Duration } from './authoring/duration.js';
export type { StepMetadata, WorkflowMetadata } from './replay/context.js';
export { FatalError, RetryableError, StreamClosedError, UnregisteredClassError, HookTimeoutError, HookConflictError, UnavailableInWorkflowError } from './errors/errors.js';
export type { RetryableErrorOptions } from './errors/errors.js';
export { registerSerializableClass } from './serialization/codec.js';
