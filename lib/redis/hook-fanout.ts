/**
 * The store side of `resumeHooks({ tag })`: one call of resumeHooksByTag.lua
 * per batch (kept out of store.ts, which holds the per-run transitions).
 */
import { LuaCode, luaError } from '../errors/lua-codes.js';
import type { Store } from './store.js';
import type { HookRecord } from './store-types.js';

/** One batch's answer. */
export interface TagBatch {
  /** The hooks this batch resumed (or had resumed already under the same resume id). */
  hooks: HookRecord[];
  /** Where the next batch starts ('' = the call is done). */
  cursor: string;
  /** The last claim sequence number the call covers (pass it to every later batch). */
  bound: string;
}

/**
 * Resumes one batch of the live hooks with `tag`, atomically: at most `limit`
 * hooks after `cursor` and up to `bound` (both '' on the first batch, which
 * refuses with TooManyHooksError, writing nothing, when the tag has more
 * than `maxHooks` live hooks).
 */
export async function resumeTagBatch(
  store: Store,
  p: { tag: string; data: string; resumeId: string; cursor: string; bound: string; limit: number; maxHooks: number },
): Promise<TagBatch> {
  const k = store.keys;
  const t = k.runTemplates();
  const reply = await store.scripts.run(
    'resumeHooksByTag',
    [k.hooks(), k.hookTag(p.tag)],
    [p.data, p.resumeId, p.cursor, p.bound, p.limit, p.maxHooks, t.run, t.events, t.resumes],
  );
  if (reply[0] < LuaCode.OK) throw luaError(Number(reply[0]), reply[1], { script: 'resumeHooksByTag', limit: p.maxHooks });
  const hooks = (reply[1] as string[]).map((raw) => JSON.parse(raw) as HookRecord);
  return { hooks, cursor: String(reply[2] ?? ''), bound: String(reply[3] ?? '0') };
}
