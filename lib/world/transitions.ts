/**
 * `events.create`: every official event, checked and applied with its entity
 * by one World script (lib/redis/lua/wdk*.lua): run_created, run_started
 * (resilient start, preload), run_cancelled, and the rest through wdkEvent.lua.
 * This file shapes the requests (payload text, options) and the replies
 * (official entities, named errors); the rules live in the scripts.
 */
import type { CreateEventParams, Event, EventResult, ResolveData } from '@workflow/world';
import type { WorldContext } from './context.js';
import { badRequest, worldError } from './errors.js';
import { encodePayload, eventFromEntry, flatToRecord, hookFromRecord, runFromHash, stepFromJson, stripEventData, waitFromJson } from './entities.js';
import { eventIdOfSlot, runIdProblem, ulid } from './ids.js';
import { attributeProblem, checkEventRequest, type EventRequest } from './validate.js';

/** The spec version stamped on what a request does not say. */
const SPEC = 5;
/** Events a run_started or a step result returns with it (the runtime lists the rest when `hasMore`). */
const PAGE = 100;

/** The keys every World script gets, in includes/wdkRun.lua's order. */
export function worldKeys(ctx: WorldContext, runId: string, workflowName = ''): string[] {
  const k = ctx.keys;
  return [
    k.run(runId), k.runEvents(runId), k.runSteps(runId), k.runWaits(runId), k.runHooks(runId), k.runResumes(runId),
    k.hooks(), k.worldCorrelations(), k.runsExpiring(), k.runStreams(runId), ...k.statusKeys(), k.runsAll(), k.runsByWorkflow(workflowName),
  ];
}

interface Applied {
  slot: number;
  now: number;
}

function eventOf(runId: string, req: EventRequest, stored: unknown, a: Applied, resolveData: ResolveData, eventType = req.eventType): Event {
  const e: Record<string, unknown> = { eventType, runId, eventId: eventIdOfSlot(a.slot), createdAt: new Date(a.now), specVersion: req.specVersion ?? SPEC };
  if (req.correlationId !== undefined) e.correlationId = req.correlationId;
  const data = stripEventData(eventType, stored, resolveData);
  if (data !== undefined) e.eventData = data;
  return e as unknown as Event;
}

function page(runId: string, entries: [string, string[]][], more: number, after: string | null, resolveData: ResolveData) {
  const events = entries.map((en) => eventFromEntry(runId, en, resolveData));
  const last = entries[entries.length - 1];
  return { events, cursor: last ? String(last[0].slice(2)) : after, hasMore: more === 1 };
}

/** Creates `events.create` on a World context. */
export function createEvents(ctx: WorldContext) {
  const channel = ctx.keys.runFinishedChannel();

  async function runCreated(runId: string | null, req: EventRequest, resolveData: ResolveData): Promise<EventResult> {
    const id = runId || `wrun_${ulid()}`;
    if (runId) {
      const problem = runIdProblem(runId);
      if (problem) throw badRequest(problem);
    }
    const d = req.eventData as { deploymentId: string; workflowName: string; input: unknown; executionContext?: unknown; attributes?: Record<string, string>; allowReservedAttributes?: true };
    const problem = attributeProblem(d.attributes, d.allowReservedAttributes === true);
    if (problem) throw badRequest(problem);
    const sv = String(req.specVersion ?? SPEC);
    const input = encodePayload(d.input);
    const ctxText = d.executionContext === undefined ? '' : encodePayload(d.executionContext);
    const attrs = JSON.stringify(d.attributes ?? {});
    const reply = await ctx.scripts.run('wdkCreateRun', worldKeys(ctx, id, d.workflowName), [id, channel, sv, d.workflowName, d.deploymentId, input, ctxText, attrs, encodePayload(d)]);
    if (reply[0] < 0) throw worldError(reply, { runId: id });
    const a = { slot: Number(reply[1]), now: Number(reply[2]) };
    const run = runFromHash({ runId: id, status: 'pending', deploymentId: d.deploymentId, workflowName: d.workflowName, sv, input, ctx: ctxText, attrs, createdAt: String(a.now), updatedAt: String(a.now) }, resolveData);
    return { event: eventOf(id, req, d, a, resolveData), run };
  }

  async function runStarted(runId: string, req: EventRequest, params: CreateEventParams | undefined, resolveData: ResolveData): Promise<EventResult> {
    const d = (req.eventData ?? {}) as { input?: unknown; deploymentId?: string; workflowName?: string; executionContext?: unknown; attributes?: Record<string, string>; allowReservedAttributes?: true };
    const resilient = typeof d.deploymentId === 'string' && typeof d.workflowName === 'string' && d.input !== undefined;
    let create = ['', '', '', '', '', '', ''];
    if (resilient) {
      const problem = attributeProblem(d.attributes, d.allowReservedAttributes === true);
      if (problem) throw badRequest(problem);
      const createdData = { deploymentId: d.deploymentId, workflowName: d.workflowName, input: d.input, executionContext: d.executionContext, attributes: d.attributes, allowReservedAttributes: d.allowReservedAttributes };
      create = ['1', d.workflowName!, d.deploymentId!, encodePayload(d.input), d.executionContext === undefined ? '' : encodePayload(d.executionContext), JSON.stringify(d.attributes ?? {}), encodePayload(createdData)];
    }
    const preload = params?.skipPreload ? 0 : PAGE;
    const reply = await ctx.scripts.run('wdkStartRun', worldKeys(ctx, runId, d.workflowName ?? ''), [runId, channel, String(req.specVersion ?? SPEC), ...create, preload]);
    if (reply[0] < 0) throw worldError(reply, { runId });
    const run = runFromHash(flatToRecord(reply[2]), resolveData);
    const startedSlot = Number(reply[1]);
    // Running already (a concurrent invocation): the run as it is, no event.
    if (startedSlot === 0) return { run };
    // The stored event has no data: creation data belongs to run_created.
    const result: EventResult = { run, event: eventOf(runId, { ...req, eventData: undefined }, undefined, { slot: startedSlot, now: Number(reply[3]) }, resolveData) };
    if (preload > 0) Object.assign(result, page(runId, reply[4], Number(reply[5]), null, resolveData));
    return result;
  }

  async function runCancelled(runId: string, req: EventRequest, resolveData: ResolveData): Promise<EventResult> {
    const reply = await ctx.scripts.run('wdkCancelRun', worldKeys(ctx, runId), [runId, channel, '', req.eventData === undefined ? '' : encodePayload(req.eventData)]);
    if (reply[0] < 0) throw worldError(reply, { runId });
    if (reply[0] === 1) return { run: runFromHash(flatToRecord(reply[1]), resolveData) };
    return { event: eventOf(runId, req, req.eventData, { slot: Number(reply[1]), now: Number(reply[3]) }, resolveData), run: runFromHash(flatToRecord(reply[2]), resolveData) };
  }

  async function other(runId: string, req: EventRequest, params: CreateEventParams | undefined, resolveData: ResolveData): Promise<EventResult> {
    const t = req.eventType;
    const c = req.correlationId ?? '';
    const d = (req.eventData ?? undefined) as Record<string, any> | undefined;
    const o: Record<string, unknown> = {};
    let payload = '';
    let stored: unknown = d;
    let createdData = '';
    let since = '';
    switch (t) {
      case 'step_created':
        o.stepName = d!.stepName;
        payload = encodePayload(d!.input);
        break;
      case 'step_started':
        if (d && typeof d.stepName === 'string' && d.input !== undefined) {
          // Lazy start: the step is created here; its input belongs to the synthetic step_created.
          o.lazy = true;
          o.stepName = d.stepName;
          payload = encodePayload(d.input);
          createdData = encodePayload({ stepName: d.stepName, input: d.input });
          const { input: _input, ...rest } = d;
          stored = rest;
        }
        break;
      case 'step_completed':
        payload = encodePayload(d!.result);
        break;
      case 'step_failed':
      case 'step_retrying':
        payload = encodePayload(d!.error);
        if (t === 'step_retrying' && d!.retryAfter !== undefined) o.retryAfter = new Date(d!.retryAfter).getTime();
        break;
      case 'hook_created':
        o.token = d!.token;
        o.isWebhook = d!.isWebhook === true;
        o.isSystem = d!.isSystem === true;
        payload = encodePayload(d!.metadata);
        break;
      case 'wait_created':
        o.resumeAt = new Date(d!.resumeAt).getTime();
        break;
      case 'run_completed':
        payload = encodePayload(d?.output);
        break;
      case 'run_failed':
        payload = encodePayload(d!.error);
        if (typeof d!.errorCode === 'string') o.errorCode = d!.errorCode;
        break;
      case 'attr_set': {
        const keys = (d!.changes as { key: string }[]).map((ch) => ch?.key);
        const twice = keys.find((k, i) => keys.indexOf(k) !== i);
        if (twice !== undefined) throw badRequest(`Attribute key ${JSON.stringify(twice)} appears more than once in the same batch`);
        const problem = attributeProblem(Object.fromEntries((d!.changes as { key: string; value: string | null }[]).map((ch) => [ch.key, ch.value])), d!.allowReservedAttributes === true, true);
        if (problem) throw badRequest(problem);
        o.changes = (d!.changes as { key: string; value: string | null }[]).map((ch) => [ch.key, ch.value ?? false]);
        o.dedup = d!.writer?.type === 'workflow';
        break;
      }
    }
    if ((t === 'step_completed' || t === 'step_failed') && typeof params?.sinceCursor === 'string') {
      if (!/^\d{1,15}$/.test(params.sinceCursor)) throw badRequest(`sinceCursor must be a cursor from events.list, got ${JSON.stringify(params.sinceCursor)}.`);
      since = params.sinceCursor;
    }
    const data = stored === undefined ? '' : encodePayload(stored);
    const reply = await ctx.scripts.run('wdkEvent', worldKeys(ctx, runId), [runId, channel, String(req.specVersion ?? SPEC), t, c, data, JSON.stringify(o), payload, createdData, since, PAGE]);
    if (reply[0] < 0) throw worldError(reply, { runId, correlationId: c, now: Date.now() });
    const a = { slot: Number(reply[1]), now: Number(reply[2]) };
    const entity = reply[3];
    const result: EventResult = {};
    if (reply[7] !== '') {
      // hook_conflict: recorded in the log, returned as the event (not thrown), no hook.
      result.event = eventOf(runId, req, { token: d!.token, conflictingRunId: String(reply[7]) }, a, resolveData, 'hook_conflict');
      return result;
    }
    result.event = eventOf(runId, req, stored, a, resolveData);
    if (t.startsWith('step_')) result.step = stepFromJson(runId, c, entity, resolveData);
    else if (t === 'hook_created') result.hook = hookFromRecord(entity, resolveData);
    else if (t.startsWith('wait_')) result.wait = waitFromJson(runId, c, entity);
    else if (t === 'run_completed' || t === 'run_failed' || t === 'attr_set') result.run = runFromHash(flatToRecord(entity), resolveData);
    if (Number(reply[4]) > 0) result.stepCreated = true;
    if (since !== '') Object.assign(result, page(runId, reply[5], Number(reply[6]), since, resolveData));
    return result;
  }

  /** The official `events.create(runId, request, params)`. */
  return async function create(runId: string | null, request: unknown, params?: CreateEventParams): Promise<EventResult> {
    const req = checkEventRequest(runId, request);
    const resolveData = params?.resolveData ?? 'all';
    if (req.eventType === 'run_created') return runCreated(runId, req, resolveData);
    const id = runId as string;
    if (req.eventType === 'run_started') return runStarted(id, req, params, resolveData);
    if (req.eventType === 'run_cancelled') return runCancelled(id, req, resolveData);
    return other(id, req, params, resolveData);
  };
}

