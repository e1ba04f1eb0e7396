/**
 * Stored World records (run hash, step/wait JSON, hook record, event entry)
 * turned into the official entities (`WorkflowRun`, `Step`, `Hook`, `Wait`,
 * `Event`): Dates from ms, payloads from their stored text, `resolveData:
 * 'none'` stripping what the official worlds strip.
 */
import type { Event, Hook, ResolveData, Step, Wait, WorkflowRun } from '@workflow/world';
import { deserialize, serialize } from '../serialization/codec.js';
import { eventIdOfSlot, slotOfEntryId } from './ids.js';

/** The spec version of records that do not carry one. */
const DEFAULT_SPEC = 5;

/** Stored text of an official payload (bytes, or JSON of a v1 run): superjson, Uint8Array as base64. '' = none. */
export function encodePayload(value: unknown): string {
  return value === undefined ? '' : serialize(value, 'payload');
}

/** The payload back from its stored text; undefined for ''. */
export function decodePayload(text: string | undefined | null): any {
  return text ? deserialize(text) : undefined;
}

const date = (ms: string | number | undefined | null) => (ms === undefined || ms === null || ms === '' ? undefined : new Date(Number(ms)));

/** An object from a flat HGETALL reply. */
export function flatToRecord(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

/** A run from its hash. */
export function runFromHash(h: Record<string, string>, resolveData: ResolveData = 'all'): WorkflowRun {
  const run: Record<string, unknown> = {
    runId: h.runId,
    status: h.status,
    deploymentId: h.deploymentId ?? '',
    workflowName: h.workflowName,
    specVersion: h.sv ? Number(h.sv) : DEFAULT_SPEC,
    executionContext: h.ctx ? decodePayload(h.ctx) : undefined,
    input: resolveData === 'none' ? undefined : decodePayload(h.input),
    output: resolveData === 'none' ? undefined : decodePayload(h.output),
    error: decodePayload(h.error),
    errorCode: h.errorCode || undefined,
    attributes: h.attrs ? JSON.parse(h.attrs) : {},
    startedAt: date(h.startedAt),
    completedAt: date(h.completedAt),
    createdAt: date(h.createdAt),
    updatedAt: date(h.updatedAt),
  };
  return run as unknown as WorkflowRun;
}

/** A step's stored JSON (includes/stepState.lua plus the World's fields o, e, c, u, ca, sv). */
interface StoredStep {
  n: string;
  s: string;
  a: number;
  i?: string;
  o?: string;
  e?: string;
  st?: number;
  ra?: number;
  c?: number;
  u?: number;
  ca?: number;
  sv?: number;
}

/** A step from its stored JSON. */
export function stepFromJson(runId: string, stepId: string, text: string, resolveData: ResolveData = 'all'): Step {
  const s = JSON.parse(text) as StoredStep;
  return {
    runId,
    stepId,
    stepName: s.n,
    status: s.s as Step['status'],
    input: resolveData === 'none' ? undefined : decodePayload(s.i),
    output: resolveData === 'none' ? undefined : decodePayload(s.o),
    error: decodePayload(s.e),
    attempt: s.a,
    startedAt: date(s.st),
    completedAt: date(s.ca),
    createdAt: date(s.c)!,
    updatedAt: date(s.u ?? s.c)!,
    retryAfter: date(s.ra),
    specVersion: s.sv ?? DEFAULT_SPEC,
  };
}

/** A hook from its token record (includes/hookIndex.lua claimToken). */
export function hookFromRecord(text: string, resolveData: ResolveData = 'all'): Hook {
  const r = JSON.parse(text) as { runId: string; hookId: string; token: string; createdAt: number; metadata?: string; isWebhook?: boolean; isSystem?: boolean; sv?: number };
  return {
    runId: r.runId,
    hookId: r.hookId,
    token: r.token,
    ownerId: 'workflow-redis',
    projectId: 'workflow-redis',
    environment: 'redis',
    metadata: resolveData === 'none' ? undefined : decodePayload(r.metadata),
    createdAt: new Date(r.createdAt),
    specVersion: r.sv ?? DEFAULT_SPEC,
    isWebhook: r.isWebhook === true,
    isSystem: r.isSystem === true,
  };
}

/** A wait from its stored JSON (includes/waitState.lua plus c, u, ca). */
export function waitFromJson(runId: string, waitId: string, text: string): Wait {
  const w = JSON.parse(text) as { s: Wait['status']; at?: number; c?: number; u?: number; ca?: number };
  return {
    waitId,
    runId,
    status: w.s,
    resumeAt: date(w.at),
    completedAt: date(w.ca),
    createdAt: date(w.c)!,
    updatedAt: date(w.u ?? w.c)!,
    specVersion: DEFAULT_SPEC,
  };
}

/** The eventData field that holds each event type's payload (stripped by `resolveData: 'none'`). */
const PAYLOAD_FIELD: Record<string, string> = {
  run_created: 'input',
  run_started: 'input',
  run_completed: 'output',
  run_failed: 'error',
  step_created: 'input',
  step_started: 'input',
  step_completed: 'result',
  step_failed: 'error',
  step_retrying: 'error',
  hook_created: 'metadata',
  hook_received: 'payload',
};

/** Strips the payload field of an event's data when resolveData is 'none' (the rest is kept). */
export function stripEventData(eventType: string, eventData: any, resolveData: ResolveData): any {
  if (resolveData !== 'none' || eventData === undefined) return eventData;
  if (eventData === null || typeof eventData !== 'object') return undefined;
  const field = PAYLOAD_FIELD[eventType];
  if (!field || !(field in eventData)) return eventData;
  const { [field]: _dropped, ...rest } = eventData;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/** An event from a stream entry of a World run (`0-<slot>`, fields type, correlationId, data, createdAt). */
export function eventFromEntry(runId: string, entry: [string, string[]], resolveData: ResolveData = 'all'): Event {
  const [id, flat] = entry;
  const f = flatToRecord(flat);
  const eventData = stripEventData(f.type!, decodePayload(f.data), resolveData);
  const e: Record<string, unknown> = {
    eventType: f.type,
    runId,
    eventId: eventIdOfSlot(slotOfEntryId(id)),
    createdAt: new Date(Number(f.createdAt)),
    specVersion: DEFAULT_SPEC,
  };
  if (f.correlationId) e.correlationId = f.correlationId;
  if (eventData !== undefined) e.eventData = eventData;
  return e as unknown as Event;
}
