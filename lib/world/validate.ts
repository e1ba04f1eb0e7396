/**
 * Checks of `events.create` requests before anything is written: the event
 * type, the correlation id, the fields each type needs, and attributes (the
 * official limits: keys 1-256 characters, `$` reserved unless allowed,
 * values ≤ 256 UTF-8 bytes, ≤ 64 per run, no key twice). A bad request is a
 * WorkflowWorldError (status 400) whose message says what to send instead.
 */
import { badRequest } from './errors.js';

/** An `events.create` request as checked here. */
export interface EventRequest {
  eventType: string;
  correlationId?: string;
  eventData?: unknown;
  specVersion?: number;
}

const CORRELATED = new Set([
  'step_created', 'step_started', 'step_completed', 'step_failed', 'step_retrying',
  'hook_created', 'hook_received', 'hook_disposed', 'wait_created', 'wait_completed',
]);
const RUN_EVENTS = new Set(['run_created', 'run_started', 'run_completed', 'run_failed', 'run_cancelled', 'attr_set']);
/** Event types whose eventData is required, and the fields it must hold. */
const REQUIRED: Record<string, string[]> = {
  run_created: ['deploymentId', 'workflowName', 'input'],
  run_failed: ['error'],
  step_created: ['stepName', 'input'],
  step_completed: ['result'],
  step_failed: ['error'],
  step_retrying: ['error'],
  hook_created: ['token'],
  hook_received: ['payload'],
  wait_created: ['resumeAt'],
  attr_set: ['changes', 'writer'],
  run_completed: [],
};

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The request, checked; throws a 400 WorkflowWorldError naming the problem. */
export function checkEventRequest(runId: string | null, request: unknown): EventRequest {
  if (!isObject(request)) throw badRequest('events.create(runId, request): request must be an object { eventType, correlationId?, eventData? }.');
  const t = request.eventType;
  if (typeof t !== 'string' || !(CORRELATED.has(t) || RUN_EVENTS.has(t))) {
    throw badRequest(`events.create: unknown eventType ${JSON.stringify(t)} (hook_conflict is written by the World only).`);
  }
  if (t !== 'run_created' && (typeof runId !== 'string' || runId === '')) throw badRequest(`events.create: a ${t} event needs the run id.`);
  if (typeof runId === 'string' && runId !== '' && !/^[A-Za-z0-9_-]{1,128}$/.test(runId)) {
    throw badRequest(`events.create: run id ${JSON.stringify(runId.slice(0, 64))} is not valid: use 1-128 letters, digits, '_' or '-'.`);
  }
  if (CORRELATED.has(t)) {
    const c = request.correlationId;
    if (typeof c !== 'string' || c === '' || c.length > 256) throw badRequest(`events.create: a ${t} event needs its correlationId (1-256 characters), got ${JSON.stringify(c)}.`);
  } else if (request.correlationId !== undefined && typeof request.correlationId !== 'string') {
    throw badRequest(`events.create: correlationId must be a string.`);
  }
  const needs = REQUIRED[t];
  const d = request.eventData;
  if (needs) {
    if (!isObject(d)) throw badRequest(`events.create: a ${t} event needs eventData { ${needs.join(', ')} }.`);
    for (const f of needs) if (d[f] === undefined) throw badRequest(`events.create: ${t} eventData.${f} is missing.`);
  } else if (d !== undefined && !isObject(d)) {
    throw badRequest(`events.create: ${t} eventData must be an object when given.`);
  }
  if (isObject(d)) {
    if (t === 'hook_created' && (typeof d.token !== 'string' || d.token === '')) throw badRequest('events.create: hook_created eventData.token must be a non-empty string.');
    if (t === 'run_created' && (typeof d.workflowName !== 'string' || typeof d.deploymentId !== 'string')) {
      throw badRequest('events.create: run_created eventData.workflowName and eventData.deploymentId must be strings.');
    }
    if (t === 'step_created' && typeof d.stepName !== 'string') throw badRequest('events.create: step_created eventData.stepName must be a string.');
    for (const f of ['resumeAt', 'retryAfter'] as const) {
      if (d[f] !== undefined && Number.isNaN(new Date(d[f] as string).getTime())) throw badRequest(`events.create: ${t} eventData.${f} must be a date.`);
    }
    if (t === 'attr_set' && (!Array.isArray(d.changes) || !isObject(d.writer))) throw badRequest('events.create: attr_set eventData needs changes: [{ key, value }] and writer: { type }.');
  }
  if (request.specVersion !== undefined && !Number.isInteger(request.specVersion)) throw badRequest('events.create: specVersion must be an integer.');
  return request as unknown as EventRequest;
}

const utf8 = new TextEncoder();

/**
 * What is wrong with attributes (a record; `changes`: values may be null =
 * delete, and the 64-key cap is checked by the script against the stored
 * ones), or undefined.
 */
export function attributeProblem(attrs: Record<string, unknown> | undefined, allowReserved: boolean, changes = false): string | undefined {
  if (attrs === undefined) return undefined;
  if (!isObject(attrs)) return 'attributes must be an object of string values.';
  const keys = Object.keys(attrs);
  if (!changes && keys.length > 64) return `Run attribute count would exceed limit 64 (post-merge ${keys.length})`;
  for (const key of keys) {
    if (key.length === 0) return 'Attribute key must not be empty';
    if (key.length > 256) return `Attribute key length ${key.length} exceeds limit 256`;
    if (!allowReserved && key.startsWith('$')) return `Attribute key ${JSON.stringify(key)} starts with reserved prefix "$": that namespace is reserved for framework code.`;
    const v = attrs[key];
    if (v === null && changes) continue;
    if (typeof v !== 'string') return `Attribute value of ${JSON.stringify(key)} must be a string${changes ? ' or null' : ''}.`;
    if (utf8.encode(v).length > 256) return `Attribute value byte length ${utf8.encode(v).length} exceeds limit 256`;
  }
  return undefined;
}
