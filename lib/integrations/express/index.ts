/**
 * The Express 5 integration: `workflowRouter()` and the pieces it is made of,
 * for apps that mount them one by one.
 */
export { workflowRouter, DEFAULT_RESUME_PATH } from './router.js';
export type { WorkflowRouterOptions } from './router.js';
export { DEFAULT_DASHBOARD_PATH } from './dashboard.js';
export type { DashboardOptions } from './dashboard.js';
export { DEFAULT_INSPECTOR_PATH } from './inspector-page.js';
export { mapError, errorMiddleware } from './errors.js';
export type { MappedError, RouterLogger } from './errors.js';
export { toWebRequest, sendWebResponse } from './web-request.js';
export { keepRawBody, WebhookBodyUnavailableError } from '../webhook-body.js';
export { buildTimeline } from '../../inspect/timeline.js';
export type { TimelineEvent, TimelineItem, RunItem, StepItem, StepAttempt, HookItem, SleepItem } from '../../inspect/timeline.js';
export type { RunView, TimelineResponse } from './runs-routes.js';
export { toJsonSafe } from '../../inspect/json-safe.js';
