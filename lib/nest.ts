/**
 * workflow-redis/nest: NestJS integration — `WorkflowModule.forRoot()`, the
 * injectable `WorkflowService` and the webhook route (Express platform).
 * Requires `@nestjs/common`, `@nestjs/core` and `reflect-metadata`.
 * @packageDocumentation
 */
export { WorkflowModule } from './integrations/nest/module.js';
export { WorkflowService } from './integrations/nest/service.js';
export { WorkflowWebhookController, WEBHOOK_CONTROLLER_PATH } from './integrations/nest/controller.js';
export { WORKFLOW_OPTIONS } from './integrations/nest/options.js';
export type { WorkflowModuleOptions, WorkflowModuleAsyncOptions, WorkflowModuleWorkerOptions } from './integrations/nest/options.js';
export { toWebRequest, writeWebResponse, WebhookBodyAbortedError } from './integrations/nest/http.js';
export { WebhookBodyUnavailableError } from './integrations/webhook-body.js';
export { writeRunStream } from './integrations/run-stream-http.js';
export type { RunStreamQuery } from './integrations/run-stream-http.js';
export type { NodeRequestLike, ToWebRequestOptions } from './integrations/nest/http.js';
