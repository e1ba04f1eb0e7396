/**
 * workflow-redis/express: an Express 5 router with the resume route, the
 * webhook route, run routes, the run inspector and the BullMQ dashboard.
 * @packageDocumentation
 */
export * from './integrations/express/index.js';
