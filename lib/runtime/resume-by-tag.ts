/** resumeHooks({ tag }, payload): one payload to every live hook with a tag (fan-out). */
import { InvalidArgumentError } from '../errors/errors.js';
import { resumeTagBatch } from '../redis/hook-fanout.js';
import { serializeLimited } from '../serialization/codec.js';
import { getConfig, getStore } from './config.js';
import { toHookInfo, type HookInfo } from './hooks.js';
import { newResumeId } from './ids.js';
import { assertOutsideWorkflow } from './outside-workflow.js';
import { assertTag } from './validate.js';

/** Hooks resumed by one atomic script call: a tag with at most this many live hooks is resumed in one script. */
export const RESUME_HOOKS_BATCH = 1000;

/** Default of `maxHooks`: the most hooks one resumeHooks call resumes. */
export const DEFAULT_RESUME_HOOKS_MAX = 10_000;

/** Largest `maxHooks` a call may ask for. */
export const RESUME_HOOKS_MAX_LIMIT = 100_000;

/** Which hooks {@link resumeHooks} resumes. */
export interface ResumeHooksSelector {
  /** Every live hook created with this tag (createHook({ tags })). */
  tag: string;
}

/** Options of {@link resumeHooks}. */
export interface ResumeHooksOptions {
  /**
   * Refuse, writing nothing, when more live hooks than this have the tag
   * (TooManyHooksError). Default 10 000, at most 100 000.
   */
  maxHooks?: number;
}

/**
 * Sends one payload to every hook live with `tag` and wakes each run. The
 * hooks are resumed in batches of {@link RESUME_HOOKS_BATCH} (1,000), each
 * one atomic Lua script that appends `hook_received` to each hook of the
 * batch and schedules its run — so up to 1,000 tagged hooks are resumed all
 * at once, with no hook live at that instant skipped and none resumed twice.
 * Above that, the batches follow the tag's claim order and stop at the last
 * hook tagged when the call began: a hook tagged before the call and still
 * live when its batch runs is resumed exactly once; one tagged after the call
 * began is not; one disposed meanwhile may or may not be.
 *
 * Resolves to the hooks resumed (an empty list when none has the tag).
 * Rejects, writing nothing, with `TooManyHooksError` when more than
 * `maxHooks` live hooks have the tag, with `UnavailableInWorkflowError` in
 * workflow code (call it from a step), and with a typed error for a bad tag
 * or payload.
 */
export async function resumeHooks<T = unknown>(selector: ResumeHooksSelector, payload: T, opts: ResumeHooksOptions = {}): Promise<HookInfo[]> {
  assertOutsideWorkflow('resumeHooks()');
  if (selector === null || typeof selector !== 'object') throw new InvalidArgumentError("resumeHooks({ tag }, payload): pass { tag: 'order:42' } as the first argument.");
  assertTag(selector.tag, 'resumeHooks({ tag })');
  const maxHooks = opts.maxHooks ?? DEFAULT_RESUME_HOOKS_MAX;
  if (!Number.isInteger(maxHooks) || maxHooks < 1 || maxHooks > RESUME_HOOKS_MAX_LIMIT) {
    throw new InvalidArgumentError(`resumeHooks(selector, payload, { maxHooks }): use an integer from 1 to ${RESUME_HOOKS_MAX_LIMIT}.`);
  }
  const cfg = getConfig();
  const data = serializeLimited(payload, cfg.maxPayloadBytes, 'payload', { wrapKey: 'payload', maxDepth: cfg.maxPayloadDepth });
  const store = await getStore();
  // One resume id for the call: a batch re-sent after a dropped connection appends nothing twice.
  const resumeId = newResumeId();
  const out: HookInfo[] = [];
  let cursor = '';
  let bound = '';
  do {
    const batch = await resumeTagBatch(store, { tag: selector.tag, data, resumeId, cursor, bound, limit: RESUME_HOOKS_BATCH, maxHooks });
    for (const rec of batch.hooks) out.push(toHookInfo(rec));
    cursor = batch.cursor;
    bound = batch.bound;
  } while (cursor !== '');
  return out;
}
