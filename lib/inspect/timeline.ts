/**
 * The run inspector's timeline, computed on the server from the event log so
 * the page stays a thin renderer: steps (step_created / step_started /
 * step_retrying / step_completed / step_failed paired by correlationId into
 * attempts with durations), hooks with their payload count, tags and timeout, sleeps with their
 * resume time, patch markers (which patched() branches the run took), and the
 * run's own start and end.
 *
 * Payloads, step inputs and results are left out: the timeline says what
 * happened and when. Only the token of a hook that is still live is included,
 * so the page can offer to resume it.
 */
import type { EventType } from '../redis/store-types.js';

/** One event, as the timeline reads it (data rehydrated only where the timeline needs it). */
export interface TimelineEvent {
  type: EventType;
  correlationId: string;
  /** Epoch ms (Redis server time). */
  createdAt: number;
  data: unknown;
}

/** One attempt of a step. */
export interface StepAttempt {
  attempt: number;
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  outcome: 'running' | 'completed' | 'failed' | 'retrying';
  /** The error message of a failed or retried attempt (never the stack). */
  error?: string;
  /** When a retried attempt may run again. */
  retryAt?: string;
}

/** The run's own events. */
export interface RunItem {
  kind: 'run';
  event: 'created' | 'started' | 'completed' | 'failed' | 'cancelled';
  at: string;
  /** The error message of a failed run. */
  error?: string;
}

/** A step and its attempts. */
export interface StepItem {
  kind: 'step';
  id: string;
  name: string;
  status: 'pending' | 'running' | 'retrying' | 'completed' | 'failed';
  attempts: number;
  createdAt: string;
  startedAt?: string;
  endedAt?: string;
  /** From the first start to the end. */
  durationMs?: number;
  tries: StepAttempt[];
}

/** A hook or webhook. */
export interface HookItem {
  kind: 'hook';
  id: string;
  isWebhook: boolean;
  /** `closed`: the run ended while the hook was live; `timed_out`: its timeout passed (createHook({ timeout })). */
  status: 'waiting' | 'disposed' | 'conflict' | 'closed' | 'timed_out';
  /** createHook({ tags }). */
  tags?: string[];
  /** When the hook times out (createHook({ timeout })). */
  timeoutAt?: string;
  /** Claimed by start(..., { hook }) with the run. */
  claimed?: boolean;
  payloads: number;
  createdAt: string;
  lastPayloadAt?: string;
  endedAt?: string;
  /** Only while the hook is live (`waiting`). */
  token?: string;
}

/** A durable sleep. */
export interface SleepItem {
  kind: 'sleep';
  id: string;
  /** `skipped`: the run ended before the sleep fired (e.g. it lost a Promise.race). */
  status: 'waiting' | 'completed' | 'skipped';
  createdAt: string;
  resumeAt?: string;
  completedAt?: string;
}

/** A patch marker: the run took the patched branch of `patched(id)` or `deprecatePatch(id)` here. */
export interface PatchItem {
  kind: 'patch';
  /** The marker's correlation id (`patch:<id>`). */
  id: string;
  /** The patch id. */
  name: string;
  status: 'applied';
  createdAt: string;
  /** Recorded by deprecatePatch() (known when the event's data was read). */
  deprecated?: boolean;
}

/** One row of the timeline. */
export type TimelineItem = RunItem | StepItem | HookItem | SleepItem | PatchItem;

const iso = (ms: number) => new Date(ms).toISOString();

function field<T>(data: unknown, key: string): T | undefined {
  return data !== null && typeof data === 'object' ? ((data as Record<string, unknown>)[key] as T | undefined) : undefined;
}

function errorMessage(data: unknown): string | undefined {
  const err = field<unknown>(data, 'error');
  if (typeof err === 'string') return err;
  const msg = field<unknown>(err, 'message');
  return typeof msg === 'string' ? msg : undefined;
}

function toMs(v: unknown): number | undefined {
  if (v instanceof Date) return v.getTime();
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v !== '' && !Number.isNaN(Date.parse(v))) return Date.parse(v);
  return undefined;
}

/** The tags and timeout a hook_created (or hook_adopted) records. */
function hookOptions(h: HookItem, data: unknown): void {
  const tags = field<unknown>(data, 'tags');
  if (Array.isArray(tags) && tags.every((t) => typeof t === 'string')) h.tags = tags as string[];
  const timeoutAt = toMs(field(data, 'timeoutAt'));
  if (timeoutAt !== undefined) h.timeoutAt = iso(timeoutAt);
}

const RUN_EVENTS: Partial<Record<EventType, RunItem['event']>> = {
  run_created: 'created',
  run_started: 'started',
  run_completed: 'completed',
  run_failed: 'failed',
  run_cancelled: 'cancelled',
};

/**
 * Builds the timeline of a run from its events (oldest first). Items are in
 * the order of their first event.
 */
export function buildTimeline(events: readonly TimelineEvent[]): TimelineItem[] {
  const items: TimelineItem[] = [];
  const steps = new Map<string, StepItem & { open?: StepAttempt; startMs?: number }>();
  const hooks = new Map<string, HookItem>();
  const sleeps = new Map<string, SleepItem>();
  let runEnded = false;

  const step = (e: TimelineEvent) => {
    let s = steps.get(e.correlationId);
    if (!s) {
      // A log read from the middle may start after step_created: show the step anyway.
      s = { kind: 'step', id: e.correlationId, name: String(field(e.data, 'stepName') ?? e.correlationId), status: 'pending', attempts: 0, createdAt: iso(e.createdAt), tries: [] };
      steps.set(e.correlationId, s);
      items.push(s);
    }
    return s;
  };
  const endAttempt = (s: StepItem & { open?: StepAttempt; startMs?: number }, e: TimelineEvent, outcome: StepAttempt['outcome']) => {
    const a = s.open ?? { attempt: s.attempts, startedAt: iso(e.createdAt), outcome };
    if (!s.open) s.tries.push(a);
    a.outcome = outcome;
    a.endedAt = iso(e.createdAt);
    a.durationMs = e.createdAt - Date.parse(a.startedAt);
    const error = outcome === 'completed' ? undefined : errorMessage(e.data);
    if (error !== undefined) a.error = error;
    s.open = undefined;
  };

  for (const e of events) {
    const runEvent = RUN_EVENTS[e.type];
    if (runEvent) {
      const item: RunItem = { kind: 'run', event: runEvent, at: iso(e.createdAt) };
      if (runEvent === 'failed') item.error = errorMessage(e.data);
      items.push(item);
      if (runEvent !== 'created' && runEvent !== 'started') runEnded = true;
      continue;
    }
    switch (e.type) {
      case 'step_created':
        step(e);
        break;
      case 'step_started': {
        const s = step(e);
        // An attempt still open here crashed (back-to-back starts): it stays without an end.
        s.attempts = Number(field(e.data, 'attempt') ?? s.attempts + 1) || s.attempts + 1;
        s.startMs ??= e.createdAt;
        s.startedAt ??= iso(e.createdAt);
        s.status = 'running';
        s.open = { attempt: s.attempts, startedAt: iso(e.createdAt), outcome: 'running' };
        s.tries.push(s.open);
        break;
      }
      case 'step_retrying': {
        const s = step(e);
        endAttempt(s, e, 'retrying');
        const retryAt = toMs(field(e.data, 'retryAfter') ?? field(e.data, 'retryAt'));
        if (retryAt !== undefined) s.tries[s.tries.length - 1]!.retryAt = iso(retryAt);
        s.status = 'retrying';
        break;
      }
      case 'step_completed':
      case 'step_failed': {
        const s = step(e);
        const outcome = e.type === 'step_completed' ? 'completed' : 'failed';
        endAttempt(s, e, outcome);
        s.status = outcome;
        s.endedAt = iso(e.createdAt);
        s.durationMs = e.createdAt - (s.startMs ?? e.createdAt);
        break;
      }
      case 'hook_created':
      case 'hook_conflict': {
        const h: HookItem = {
          kind: 'hook',
          id: e.correlationId,
          isWebhook: field(e.data, 'isWebhook') === true,
          status: e.type === 'hook_conflict' ? 'conflict' : 'waiting',
          payloads: 0,
          createdAt: iso(e.createdAt),
        };
        const token = field<unknown>(e.data, 'token');
        if (e.type === 'hook_created' && typeof token === 'string') h.token = token;
        if (field(e.data, 'claimed') === true) h.claimed = true;
        hookOptions(h, e.data);
        hooks.set(e.correlationId, h);
        items.push(h);
        break;
      }
      case 'hook_adopted': {
        const h = hooks.get(e.correlationId);
        if (h) hookOptions(h, e.data);
        break;
      }
      case 'hook_timed_out': {
        const h = hooks.get(e.correlationId);
        if (h) {
          h.status = 'timed_out';
          h.endedAt = iso(e.createdAt);
        }
        break;
      }
      case 'hook_received': {
        const h = hooks.get(e.correlationId);
        if (h) {
          h.payloads++;
          h.lastPayloadAt = iso(e.createdAt);
        }
        break;
      }
      case 'hook_disposed': {
        const h = hooks.get(e.correlationId);
        if (h) {
          h.status = 'disposed';
          h.endedAt = iso(e.createdAt);
        }
        break;
      }
      case 'wait_created': {
        const resumeAt = toMs(field(e.data, 'resumeAt'));
        const w: SleepItem = { kind: 'sleep', id: e.correlationId, status: 'waiting', createdAt: iso(e.createdAt) };
        if (resumeAt !== undefined) w.resumeAt = iso(resumeAt);
        sleeps.set(e.correlationId, w);
        items.push(w);
        break;
      }
      case 'patch_applied': {
        const name = field<unknown>(e.data, 'patchId');
        const p: PatchItem = {
          kind: 'patch',
          id: e.correlationId,
          name: typeof name === 'string' ? name : e.correlationId.replace(/^patch:/, ''),
          status: 'applied',
          createdAt: iso(e.createdAt),
        };
        if (field(e.data, 'deprecated') === true) p.deprecated = true;
        items.push(p);
        break;
      }
      case 'wait_completed': {
        const w = sleeps.get(e.correlationId);
        if (w) {
          w.status = 'completed';
          w.completedAt = iso(e.createdAt);
        }
        break;
      }
    }
  }

  for (const h of hooks.values()) {
    if (h.status === 'waiting' && runEnded) h.status = 'closed';
    // A token is a capability: hand it out only while it can still be used.
    if (h.status !== 'waiting') delete h.token;
  }
  for (const it of items) if (it.kind === 'sleep' && it.status === 'waiting' && runEnded) it.status = 'skipped';
  for (const s of steps.values()) {
    delete s.open;
    delete s.startMs;
  }
  return items;
}
