/**
 * The hook start() claims for a run (`start(wf, args, { hook: { token } })`).
 *
 * createRun.lua claims the token with the run and records it as a
 * `hook_created` of the correlation id {@link CLAIMED_HOOK_ID} (`hook_0`,
 * which call order never allocates: code-made hooks are hook_1, hook_2...),
 * so resumes sent before the workflow runs are `hook_received` of hook_0,
 * kept in the log in order. The execution holds a HookCall for it from the
 * moment it reads that event (read ahead at begin(), or consumed), buffering
 * the payloads; the workflow's first `createHook({ token })` with that token
 * returns it instead of making a new hook (the adoption), and the commit
 * records `hook_adopted` with the options createHook was given (a timeout's
 * timer, tags, metadata). Adoption is decided by the code alone (same code,
 * same token: same adoption on every replay), and the payloads' order is the
 * log's, so replays deliver the same payloads at the same awaits.
 */
import type { StoredEvent } from '../redis/store-types.js';
import { peekData, serialize } from '../serialization/codec.js';
import type { CommitOp } from '../redis/store-types.js';
import { HookCall } from './calls.js';

/** The correlation id of the hook start() claimed. */
export const CLAIMED_HOOK_ID = 'hook_0';

/** The claimed token a hook_created of hook_0 records, if `ev` is one. */
export function claimedTokenOf(ev: StoredEvent | undefined): string | undefined {
  if (!ev || ev.type !== 'hook_created' || ev.correlationId !== CLAIMED_HOOK_ID) return undefined;
  const token = peekData<{ token?: unknown }>(ev.data)?.token;
  return typeof token === 'string' ? token : undefined;
}

/** A HookCall standing for the claimed hook (not adopted yet). */
export function claimedHookCall(token: string, generation: () => number): HookCall {
  const call = new HookCall(CLAIMED_HOOK_ID, token, undefined, false, undefined, generation);
  call.claim = { adopted: false, adoptLogged: false };
  return call;
}

/** The hook_adopted op of an adopted claim whose adoption is not in the log yet, else undefined. */
export function adoptionOp(c: HookCall): CommitOp | undefined {
  if (!c.claim?.adopted || c.claim.adoptLogged || c.disposedLogged) return undefined;
  return {
    t: 'hook_adopted',
    c: c.id,
    d: serialize({ ...(c.timeoutAt !== undefined ? { timeoutAt: c.timeoutAt } : {}), ...(c.tags ? { tags: c.tags } : {}) }),
    ...(c.metadata !== undefined ? { md: c.metadata } : {}),
    ...(c.tags ? { tg: c.tags } : {}),
    ...(c.timeoutAt !== undefined ? { to: c.timeoutAt } : {}),
  };
}
