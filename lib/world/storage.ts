/**
 * The World's storage: `runs`, `steps`, `events`, `hooks` of the official
 * contract, read from the same keys the native engine uses (run hash, event
 * stream, steps/waits/hooks hashes, token hash, run indexes), written only
 * through `events.create` (lib/world/transitions.ts).
 *
 * Cursors: events page by slot (dense, so a cursor stays valid while the log
 * grows); runs by `createdAt:runId` (stable while runs change status); steps
 * and hooks by `createdAt:id`.
 */
import type { Event, Hook, PaginatedResponse, ResolveData, Storage, Step, WorkflowRun } from '@workflow/world';
import { HookNotFoundError, WorkflowRunNotFoundError, WorkflowWorldError } from '@workflow/errors';
import type { WorldContext } from './context.js';
import { badRequest } from './errors.js';
import { eventFromEntry, hookFromRecord, runFromHash, stepFromJson } from './entities.js';
import { slotOfEventId } from './ids.js';
import { createEvents } from './transitions.js';
import { RUN_STATUSES, type RunStatus } from '../domain/run-status.js';

/** Page size when none is asked for, and the largest allowed (the official contract's). */
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

interface Pagination {
  limit?: number;
  cursor?: string;
  sortOrder?: 'asc' | 'desc';
}

function limitOf(p: Pagination | undefined): number {
  const n = p?.limit ?? DEFAULT_LIMIT;
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) throw badRequest(`pagination.limit must be an integer from 1 to ${MAX_LIMIT}, got ${String(p?.limit)}.`);
  return n;
}

function orderOf(p: Pagination | undefined, fallback: 'asc' | 'desc'): 'asc' | 'desc' {
  const o = p?.sortOrder ?? fallback;
  if (o !== 'asc' && o !== 'desc') throw badRequest(`pagination.sortOrder must be 'asc' or 'desc', got ${JSON.stringify(o)}.`);
  return o;
}

function resolveOf(v: unknown): ResolveData {
  if (v === undefined || v === 'all' || v === 'none') return (v ?? 'all') as ResolveData;
  throw badRequest(`resolveData must be 'all' or 'none', got ${JSON.stringify(v)}.`);
}

function needString(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '' || v.length > 256) throw badRequest(`${what} must be a non-empty string (at most 256 characters).`);
  return v;
}

/** `createdAt:id` cursors over items sorted by (createdAt, id). */
function pageByTime<T>(items: { at: number; id: string; value: T }[], p: Pagination | undefined, fallback: 'asc' | 'desc'): PaginatedResponse<T> {
  const limit = limitOf(p);
  const order = orderOf(p, fallback);
  let after: { at: number; id: string } | undefined;
  if (p?.cursor !== undefined) {
    const m = /^(\d+):(.+)$/.exec(p.cursor);
    if (!m) throw badRequest(`pagination.cursor ${JSON.stringify(p.cursor)} is not a cursor of this list: pass the cursor of the previous page.`);
    after = { at: Number(m[1]), id: m[2]! };
  }
  const cmp = (a: { at: number; id: string }, b: { at: number; id: string }) => (a.at - b.at) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const sorted = items.sort((a, b) => (order === 'asc' ? cmp(a, b) : cmp(b, a)));
  const rest = after ? sorted.filter((x) => (order === 'asc' ? cmp(x, after!) > 0 : cmp(x, after!) < 0)) : sorted;
  const data = rest.slice(0, limit);
  const last = data[data.length - 1];
  return { data: data.map((x) => x.value), cursor: last ? `${last.at}:${last.id}` : null, hasMore: rest.length > limit };
}

/** Builds the World's storage on a context. */
export function createWorldStorage(ctx: WorldContext): Storage {
  const k = ctx.keys;
  const redis = ctx.redis;

  async function getRun(id: unknown, params?: { resolveData?: ResolveData }): Promise<WorkflowRun> {
    const runId = needString(id, 'runs.get(runId)');
    const resolveData = resolveOf(params?.resolveData);
    const h = await redis.hgetall(k.run(runId));
    if (!h.status || h.kind !== 'wdk') throw new WorkflowRunNotFoundError(runId);
    return runFromHash(h, resolveData);
  }

  async function listRuns(params: { workflowName?: string; status?: RunStatus; pagination?: Pagination; resolveData?: ResolveData } = {}): Promise<PaginatedResponse<WorkflowRun>> {
    const resolveData = resolveOf(params.resolveData);
    if (params.status !== undefined && !RUN_STATUSES.includes(params.status)) throw badRequest(`runs.list({ status }): use one of ${RUN_STATUSES.join(', ')}.`);
    if (params.workflowName !== undefined) needString(params.workflowName, 'runs.list({ workflowName })');
    // The narrowest index; the other filter is applied to the runs read.
    const index = params.status ? k.runsByStatus(params.status) : params.workflowName ? k.runsByWorkflow(params.workflowName) : k.runsAll();
    const limit = limitOf(params.pagination);
    const order = orderOf(params.pagination, 'desc');
    let cursor = params.pagination?.cursor;
    if (cursor !== undefined && !/^\d+:.+$/.test(cursor)) throw badRequest(`pagination.cursor ${JSON.stringify(cursor)} is not a cursor of runs.list: pass the cursor of the previous page.`);
    const out: WorkflowRun[] = [];
    let hasMore = false;
    // Scores are creation times; ties are ordered by run id (a ZSET's own order), which the cursor names.
    while (out.length <= limit) {
      const batch = await scoreRange(redis, index, order, cursor, limit + 1);
      if (batch.length === 0) break;
      const hashes = await Promise.all(batch.map(([id]) => redis.hgetall(k.run(id))));
      for (let i = 0; i < batch.length; i++) {
        const h = hashes[i]!;
        cursor = `${batch[i]![1]}:${batch[i]![0]}`;
        if (!h.status || h.kind !== 'wdk') continue;
        if (params.workflowName !== undefined && h.workflowName !== params.workflowName) continue;
        if (params.status !== undefined && h.status !== params.status) continue;
        if (out.length === limit) {
          hasMore = true;
          break;
        }
        out.push(runFromHash(h, resolveData));
      }
      if (hasMore || batch.length < limit + 1) break;
    }
    const last = out[out.length - 1];
    return { data: out, cursor: last ? `${last.createdAt.getTime()}:${last.runId}` : null, hasMore };
  }

  async function getStep(runId: unknown, stepId: unknown, params?: { resolveData?: ResolveData }): Promise<Step> {
    const r = needString(runId, 'steps.get(runId)');
    const s = needString(stepId, 'steps.get(runId, stepId)');
    const text = await redis.hget(k.runSteps(r), s);
    if (!text) throw new WorkflowWorldError(`Step "${s}" not found in run "${r}"`, { status: 404 });
    return stepFromJson(r, s, text, resolveOf(params?.resolveData));
  }

  async function listSteps(params: { runId: string; pagination?: Pagination; resolveData?: ResolveData }): Promise<PaginatedResponse<Step>> {
    const runId = needString(params?.runId, 'steps.list({ runId })');
    const resolveData = resolveOf(params.resolveData);
    const all = await redis.hgetall(k.runSteps(runId));
    const items = Object.entries(all).map(([id, text]) => {
      const step = stepFromJson(runId, id, text, resolveData);
      return { at: step.createdAt.getTime(), id, value: step };
    });
    return pageByTime(items, params.pagination, 'asc');
  }

  async function listEvents(params: { runId: string; pagination?: Pagination; resolveData?: ResolveData }): Promise<PaginatedResponse<Event>> {
    const runId = needString(params?.runId, 'events.list({ runId })');
    const resolveData = resolveOf(params.resolveData);
    const limit = limitOf(params.pagination);
    const order = orderOf(params.pagination, 'asc');
    const cursor = params.pagination?.cursor;
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw badRequest(`pagination.cursor ${JSON.stringify(cursor)} is not a cursor of events.list: pass the cursor of the previous page.`);
    const key = k.runEvents(runId);
    const entries = (order === 'asc'
      ? await redis.xrange(key, cursor ? `(0-${cursor}` : '-', '+', 'COUNT', limit + 1)
      : await redis.xrevrange(key, cursor ? `(0-${cursor}` : '+', '-', 'COUNT', limit + 1)) as [string, string[]][];
    const more = entries.length > limit;
    const data = entries.slice(0, limit);
    const last = data[data.length - 1];
    return { data: data.map((e) => eventFromEntry(runId, e, resolveData)), cursor: last ? last[0].slice(2) : (cursor ?? null), hasMore: more };
  }

  async function getEvent(runId: unknown, eventId: unknown, params?: { resolveData?: ResolveData }): Promise<Event> {
    const r = needString(runId, 'events.get(runId)');
    const id = needString(eventId, 'events.get(runId, eventId)');
    const slot = slotOfEventId(id);
    const entries = slot === undefined ? [] : ((await redis.xrange(k.runEvents(r), `0-${slot}`, `0-${slot}`)) as [string, string[]][]);
    if (!entries[0]) throw new WorkflowWorldError(`Event "${id}" not found in run "${r}"`, { status: 404 });
    return eventFromEntry(r, entries[0], resolveOf(params?.resolveData));
  }

  async function listByCorrelationId(params: { correlationId: string; pagination?: Pagination; resolveData?: ResolveData }): Promise<PaginatedResponse<Event>> {
    const c = needString(params?.correlationId, 'events.listByCorrelationId({ correlationId })');
    const resolveData = resolveOf(params.resolveData);
    const runId = await redis.hget(k.worldCorrelations(), c);
    if (!runId) return { data: [], cursor: null, hasMore: false };
    const entries = (await redis.xrange(k.runEvents(runId), '-', '+')) as [string, string[]][];
    const items = entries
      .map((e) => eventFromEntry(runId, e, resolveData))
      .filter((e) => e.correlationId === c)
      .map((e) => ({ at: slotOfEventId(e.eventId)!, id: e.eventId, value: e }));
    return pageByTime(items, params.pagination, 'asc');
  }

  async function getHookByToken(token: unknown, params?: { resolveData?: ResolveData }): Promise<Hook> {
    const t = needString(token, 'hooks.getByToken(token)');
    const rec = await redis.hget(k.hooks(), t);
    if (!rec) throw new HookNotFoundError(t);
    return hookFromRecord(rec, resolveOf(params?.resolveData));
  }

  async function getHook(hookId: unknown, params?: { resolveData?: ResolveData }): Promise<Hook> {
    const id = needString(hookId, 'hooks.get(hookId)');
    const runId = await redis.hget(k.worldCorrelations(), id);
    const own = runId ? await redis.hget(k.runHooks(runId), id) : null;
    const state = own ? (JSON.parse(own) as { t: string; s: string }) : undefined;
    const rec = state?.s === 'live' ? await redis.hget(k.hooks(), state.t) : null;
    if (!rec) throw new HookNotFoundError(id);
    return hookFromRecord(rec, resolveOf(params?.resolveData));
  }

  async function listHooks(params: { runId?: string; pagination?: Pagination; resolveData?: ResolveData } = {}): Promise<PaginatedResponse<Hook>> {
    const resolveData = resolveOf(params.resolveData);
    let records: string[];
    if (params.runId !== undefined) {
      const runId = needString(params.runId, 'hooks.list({ runId })');
      const states = Object.values(await redis.hgetall(k.runHooks(runId))).map((s) => JSON.parse(s) as { t: string; s: string });
      const tokens = states.filter((s) => s.s === 'live').map((s) => s.t);
      records = tokens.length ? ((await redis.hmget(k.hooks(), ...tokens)).filter((r): r is string => r !== null)) : [];
      records = records.filter((r) => (JSON.parse(r) as { runId: string }).runId === runId);
    } else {
      records = Object.values(await redis.hgetall(k.hooks()));
    }
    const items = records.map((r) => {
      const hook = hookFromRecord(r, resolveData);
      return { at: hook.createdAt.getTime(), id: hook.hookId, value: hook };
    });
    return pageByTime(items, params.pagination, 'asc');
  }

  return {
    runs: { get: getRun as Storage['runs']['get'], list: listRuns as Storage['runs']['list'] },
    steps: { get: getStep as Storage['steps']['get'], list: listSteps as Storage['steps']['list'] },
    events: {
      create: createEvents(ctx) as Storage['events']['create'],
      get: getEvent,
      list: listEvents,
      listByCorrelationId,
    },
    hooks: { get: getHook, getByToken: getHookByToken, list: listHooks },
  };
}

/** Up to `count` members after the `score:member` cursor, as [member, score], in `order`. */
async function scoreRange(redis: WorldContext['redis'], key: string, order: 'asc' | 'desc', cursor: string | undefined, count: number): Promise<[string, string][]> {
  const pairs = (flat: string[]) => {
    const out: [string, string][] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, flat[i + 1]!]);
    return out;
  };
  if (cursor === undefined) {
    const flat = order === 'asc' ? await redis.zrange(key, '0', String(count - 1), 'WITHSCORES') : await redis.zrange(key, '0', String(count - 1), 'REV', 'WITHSCORES');
    return pairs(flat);
  }
  const i = cursor.indexOf(':');
  const score = cursor.slice(0, i);
  const member = cursor.slice(i + 1);
  // Members with the cursor's score sort by member: read from the score on, dropping those up to the
  // cursor, page after page (any number of runs may share a creation millisecond).
  const out: [string, string][] = [];
  for (let offset = 0; out.length < count; offset += count) {
    const flat = order === 'asc'
      ? await redis.zrangebyscore(key, score, '+inf', 'WITHSCORES', 'LIMIT', offset, count)
      : await redis.zrevrangebyscore(key, score, '-inf', 'WITHSCORES', 'LIMIT', offset, count);
    const page = pairs(flat);
    for (const [m, s] of page) {
      if (s === score && (order === 'asc' ? m <= member : m >= member)) continue;
      if (out.length < count) out.push([m, s]);
    }
    if (page.length < count) break;
  }
  return out;
}
