/**
 * Loads the Lua scripts of lib/redis/lua: expands `--- @include "name"` lines
 * (each include once per script), prepends BullMQ's own addStandardJob as a
 * local function where a script says `--- @bullmq`, puts the store's replay
 * job template where a script says `--- @replay-job-parts` (so it is not sent
 * with every call), the prefix's hook tag keys where it says `--- @hook-keys`
 * (built by lib/redis/keys.ts hookKeys), and registers each script with ioredis `defineCommand`
 * under a content-hashed name (EVALSHA, with EVAL on NOSCRIPT after a restart
 * or failover).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Redis, Cluster } from 'ioredis';
import { bullAddStandardJobLua, replayJobLua, type ReplayJobTemplate } from '../queue/bullmq-contract.js';

const LUA_DIR = new URL('./lua/', import.meta.url);

/** Names of the entry scripts (one file per atomic transition). */
export const SCRIPT_NAMES = [
  'createRun',
  'resumeHook',
  'resumeHooksByTag',
  'acquireRun',
  'releaseRun',
  'renewLease',
  'commitReplay',
  'commitReplayBatch',
  'startStep',
  'finishStep',
  'completeWait',
  'cancelRun',
  'wakeRun',
  'pruneRuns',
  'noteCancelled',
  'appendChunks',
  'openStream',
] as const;
/**
 * Entry scripts of the official-SDK World (lib/world): the official contract's
 * transitions on the same data model, loaded only by a World's runner so the
 * native engine's connections never define them.
 */
export const WORLD_SCRIPT_NAMES = ['wdkCreateRun', 'wdkStartRun', 'wdkEvent', 'wdkCancelRun', 'wdkStream'] as const;
export type ScriptName = (typeof SCRIPT_NAMES)[number] | (typeof WORLD_SCRIPT_NAMES)[number];

/** The keys compiled into the scripts that claim and release hook tokens (Keyspace.hookKeys). */
export interface HookKeys {
  /** The tag index key, the tag in place of a NUL byte. */
  tagTemplate: string;
  /** The tagged claims counter. */
  tagSeq: string;
}

/** A Lua string literal holding exactly `s`: bytes other than letters, digits and `_{}:.-` as 3-digit `\ddd` escapes. */
function luaString(s: string): string {
  let out = '';
  for (const b of Buffer.from(s, 'utf8')) {
    const c = String.fromCharCode(b);
    out += /^[A-Za-z0-9_{}:.-]$/.test(c) ? c : `\\${String(b).padStart(3, '0')}`;
  }
  return `'${out}'`;
}

function readLua(relative: string): string {
  return readFileSync(new URL(relative, LUA_DIR), 'utf8');
}

/**
 * Builds the full text of one script (includes expanded, BullMQ wrapped in).
 * `replayJob`: the store's replay job template (see ReplayJobTemplate),
 * required by the scripts that enqueue a replay.
 */
export function buildScript(name: ScriptName, replayJob?: ReplayJobTemplate, hookKeys?: HookKeys): string {
  const included = new Set<string>();
  const expand = (text: string, stack: string[]): string =>
    text.replace(/^--- @include "([A-Za-z0-9_]+)"\s*$/gm, (_m, inc: string) => {
      if (stack.includes(inc)) throw new Error(`Lua include cycle: ${[...stack, inc].join(' -> ')}`);
      if (included.has(inc)) return `-- (${inc} already included)`;
      included.add(inc);
      return expand(readLua(`includes/${inc}.lua`), [...stack, inc]);
    });
  let body = expand(readLua(`${name}.lua`), [name]);
  if (/^--- @bullmq\s*$/m.test(body)) body = `${bullAddStandardJobLua()}\n${body}`;
  if (/^--- @replay-job-parts\s*$/m.test(body)) {
    if (!replayJob) throw new Error(`Lua script ${name} enqueues replays: build it with the store's replay job template`);
    body = body.replace(/^--- @replay-job-parts\s*$/m, () => replayJobLua(replayJob));
  }
  if (/^--- @hook-keys\s*$/m.test(body)) {
    if (!hookKeys) throw new Error(`Lua script ${name} claims or releases hook tokens: build it with the keyspace's hook keys`);
    const lua = `local HOOK_TAG_TEMPLATE = ${luaString(hookKeys.tagTemplate)}\nlocal HOOK_TAG_SEQ = ${luaString(hookKeys.tagSeq)}`;
    body = body.replace(/^--- @hook-keys\s*$/m, () => lua);
  }
  return body;
}

/** Calls registered scripts on one connection. */
export class ScriptRunner {
  private readonly names = new Map<ScriptName, string>();

  constructor(
    private readonly client: Redis | Cluster,
    /** The store's replay job template (compiled into the scripts that enqueue). */
    replayJob: ReplayJobTemplate,
    /** The prefix's hook tag keys (compiled into the scripts that claim and release tokens). */
    hookKeys: HookKeys,
    /** The scripts to load (default: the native engine's). */
    names: readonly ScriptName[] = SCRIPT_NAMES,
  ) {
    for (const name of names) {
      const lua = buildScript(name, replayJob, hookKeys);
      const sha = createHash('sha1').update(lua).digest('hex').slice(0, 12);
      const command = `wfr_${name}_${sha}`;
      if (typeof (client as any)[command] !== 'function') client.defineCommand(command, { lua });
      this.names.set(name, command);
    }
  }

  /** Runs a script; keys and arguments are passed as KEYS and ARGV. */
  run(name: ScriptName, keys: readonly string[], argv: readonly (string | number | Buffer)[]): Promise<any> {
    const command = this.names.get(name);
    if (!command) throw new Error(`Lua script ${name} is not loaded by this runner`);
    return (this.client as any)[command](keys.length, ...keys, ...argv);
  }
}
