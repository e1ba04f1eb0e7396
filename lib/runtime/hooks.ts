/** resumeHook and getHookByToken: the runtime side of hooks. */
import { HookNotFoundError } from '../errors/errors.js';
import { deserialize, serializeLimited } from '../serialization/codec.js';
import type { HookRecord } from '../redis/store-types.js';
import { getConfig, getStore, openedStore } from './config.js';
import { newResumeId } from './ids.js';
import { refusedInWorkflow } from './outside-workflow.js';
import { assertToken } from './validate.js';

/** A live hook, as `resumeHook` and `getHookByToken` return it. */
export interface HookInfo<M = unknown> {
  runId: string;
  hookId: string;
  token: string;
  /** The metadata given to `createHook`, rehydrated. */
  metadata: M | undefined;
  createdAt: Date;
  isWebhook: boolean;
  /** The hook's tags (createHook({ tags })), when it has any. */
  tags?: string[];
  /** When the hook times out (createHook({ timeout })), when it has a timeout. */
  timeoutAt?: Date;
}

/** Turns a stored hook record into the public shape. */
export function toHookInfo<M = unknown>(rec: HookRecord): HookInfo<M> {
  return {
    runId: rec.runId,
    hookId: rec.hookId,
    token: rec.token,
    metadata: rec.metadata === undefined ? undefined : deserialize<M>(rec.metadata),
    createdAt: new Date(rec.createdAt),
    isWebhook: rec.isWebhook === true,
    ...(Array.isArray(rec.tags) && rec.tags.length > 0 ? { tags: rec.tags } : {}),
    ...(typeof rec.timeoutAt === 'number' ? { timeoutAt: new Date(rec.timeoutAt) } : {}),
  };
}

/**
 * Sends a payload to the hook holding `token` and wakes its run: one atomic
 * script appends `hook_received` and schedules the run (ARCHITECTURE §4).
 * Rejects with `HookNotFoundError` for an unknown, disposed or timed-out
 * token or a finished run, with `UnavailableInWorkflowError` in workflow code
 * (call it from a step), and with a typed error for bad input; nothing is
 * written then.
 */
export function resumeHook<T = unknown>(token: string, payload: T): Promise<HookInfo> {
  // Not an async function: this is the hot path, and one promise layer less shows in its latency.
  const refused = refusedInWorkflow('resumeHook()');
  if (refused) return Promise.reject(refused);
  let data: string;
  try {
    assertToken(token);
    const cfg = getConfig();
    data = serializeLimited(payload, cfg.maxPayloadBytes, 'payload', { wrapKey: 'payload', maxDepth: cfg.maxPayloadDepth });
  } catch (err) {
    return Promise.reject(err);
  }
  const store = openedStore();
  if (!store) return getStore().then((s) => s.resumeHook(token, data, newResumeId())).then(({ hook }) => toHookInfo(hook));
  return store.resumeHook(token, data, newResumeId()).then(({ hook }) => toHookInfo(hook));
}

/** The live hook holding `token`; rejects with `HookNotFoundError` when there is none. */
export async function getHookByToken<M = unknown>(token: string): Promise<HookInfo<M>> {
  assertToken(token);
  const store = await getStore();
  const rec = await store.getHook(token);
  if (!rec) throw new HookNotFoundError(token);
  const run = await store.getRun(rec.runId);
  if (!run || !['pending', 'running'].includes(run.status)) throw new HookNotFoundError(token);
  return toHookInfo<M>(rec);
}
