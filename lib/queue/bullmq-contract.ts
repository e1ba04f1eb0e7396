/**
 * The contract with BullMQ that makes resumeHook one atomic script: we wrap
 * BullMQ's own addStandardJob Lua (read from the installed bullmq at load time,
 * never copied) as a local function of our scripts, and we build its KEYS and
 * ARGV with BullMQ's public Job#addJob through an intercepting client.
 *
 * bullmq is pinned exactly in package.json; {@link checkBullmqContract} runs at
 * start-up and test/foundation/bullmq-contract.test.ts fails if an upgrade breaks it.
 */
import { createRequire } from 'node:module';
import { Job, type Queue } from 'bullmq';
import { Packr } from 'msgpackr';
import { QUEUE_SLOT } from '../redis/keys.js';

const require = createRequire(import.meta.url);

/** The bullmq version this release was built and tested against. */
export const BULLMQ_TESTED_VERSION = '6.7.0';

/** Stands for the run id in a captured job template; replaced inside Lua. */
export const RUN_ID_PLACEHOLDER = '__wfr_run_id__';

interface BullScript {
  name: string;
  content: string;
  keys: number;
}

let cachedLua: string | undefined;

function loadAddStandardJob(): BullScript {
  let mod: { addStandardJob?: BullScript };
  try {
    mod = require('bullmq/dist/cjs/scripts/addStandardJob-9.js');
  } catch (err) {
    throw new Error(
      `workflow-redis needs bullmq ${BULLMQ_TESTED_VERSION} (its addStandardJob-9 script was not found: ${(err as Error).message}). ` +
        `Install the pinned version: npm install bullmq@${BULLMQ_TESTED_VERSION}`,
      { cause: err },
    );
  }
  const s = mod.addStandardJob;
  if (!s || s.name !== 'addStandardJob' || s.keys !== 9 || typeof s.content !== 'string') {
    throw new Error(`bullmq contract changed: addStandardJob is not a 9-key script. Pin bullmq@${BULLMQ_TESTED_VERSION}.`);
  }
  for (const needle of ['cmsgpack.unpack(ARGV[1])', 'local data = ARGV[2]', 'cmsgpack.unpack(ARGV[3])']) {
    if (!s.content.includes(needle)) {
      throw new Error(`bullmq contract changed: addStandardJob no longer reads "${needle}". Pin bullmq@${BULLMQ_TESTED_VERSION}.`);
    }
  }
  if (/^#!/.test(s.content)) throw new Error('bullmq contract changed: addStandardJob has a shebang');
  return s;
}

/** BullMQ's addStandardJob as a Lua local function `bullAddStandardJob(KEYS, ARGV)`. */
export function bullAddStandardJobLua(): string {
  cachedLua ??= `local function bullAddStandardJob(KEYS, ARGV)\n${loadAddStandardJob().content}\nend\n`;
  return cachedLua;
}

/** Stands for the job timestamp in a captured template (replaced by server time in Lua). */
export const TIMESTAMP_MARKER = 4102444800123;

/**
 * What our scripts' enqueueReplay include needs to add a replay job to any
 * route's queue (see lua/includes/enqueueReplay.lua). Captured once from a
 * queue named {@link QUEUE_SLOT}, then cut around the places that vary per
 * job — the queue name, the run id, the timestamp — so that Lua only
 * concatenates. Compiled into the scripts as a constant
 * ({@link replayJobLua}), not sent with every call: a binary argument costs
 * the caller far more than its bytes (ioredis then builds the whole command
 * as buffers).
 */
export interface ReplayJobTemplate {
  /** BullMQ's 9 keys of a queue, each cut around the queue name: [before, after]. */
  keys: [string, string][];
  /** The packed args: before the packed key prefix, then between it, the deduplication key and the timestamp, and after. */
  args: [Buffer, Buffer, Buffer, Buffer];
  /** The key prefix (args[1]) around the queue name. */
  keyPrefix: [string, string];
  /** 'd' when the deduplication key comes before the timestamp in the args, 't' otherwise. */
  order: 'd' | 't';
  /** The deduplication key around the queue name and the run id. */
  dedup: [string, string, string];
  /** The job data (JSON) around the run id. */
  data: [string, string];
  /** The packed opts around the packed run id. */
  opts: [Buffer, Buffer];
}

/** Lua source of a bytes value as a string literal (printable ASCII as is, every other byte as a 3-digit escape). */
function luaBytes(b: Buffer | string): string {
  let out = '"';
  for (const c of Buffer.from(b)) out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  return `${out}"`;
}

const luaList = (xs: readonly (Buffer | string)[]) => `{ ${xs.map(luaBytes).join(', ')} }`;

/** The template as the Lua constant enqueueReplay reads (`REPLAY_JOB`). */
export function replayJobLua(t: ReplayJobTemplate): string {
  return [
    'local REPLAY_JOB = {',
    `  keys = { ${t.keys.map((k) => luaList(k)).join(', ')} },`,
    `  args = ${luaList(t.args)},`,
    `  keyPrefix = ${luaList(t.keyPrefix)},`,
    `  order = ${luaBytes(t.order)},`,
    `  dedup = ${luaList(t.dedup)},`,
    `  data = ${luaList(t.data)},`,
    `  opts = ${luaList(t.opts)},`,
    '}',
  ].join('\n');
}

// Same encoding options as BullMQ's own packer; used only to find byte patterns in its output.
const packr = new Packr({ useRecords: false, encodeUndefinedAsNil: true });

function occurrences(hay: Buffer, needle: Buffer): number {
  let n = 0;
  for (let i = hay.indexOf(needle); i !== -1; i = hay.indexOf(needle, i + 1)) n++;
  return n;
}

/** Options of the replay jobs (deduplicated per run; see ARCHITECTURE §4). */
export function replayJobOptions(runId: string) {
  return {
    deduplication: { id: runId, keepLastIfActive: true },
    removeOnComplete: true,
    removeOnFail: 1000,
    attempts: 10,
    backoff: { type: 'exponential', delay: 500 },
  };
}

function contractError(what: string): Error {
  return new Error(`bullmq contract changed: ${what}. Pin bullmq@${BULLMQ_TESTED_VERSION}.`);
}

/** `s` cut at its one occurrence of `slot`. */
function cut(s: string, slot: string, what: string): [string, string] {
  const parts = s.split(slot);
  if (parts.length !== 2) throw contractError(`${what} holds the ${slot === QUEUE_SLOT ? 'queue name' : 'run id'} ${parts.length - 1} times, not once`);
  return parts as [string, string];
}

/**
 * Captures the arguments BullMQ would send for a replay job, once, from a
 * queue named {@link QUEUE_SLOT} (`slotQueue`: never written to; nothing is sent).
 */
export async function captureReplayJobTemplate(slotQueue: Queue): Promise<ReplayJobTemplate> {
  if (slotQueue.name !== QUEUE_SLOT) throw new Error(`captureReplayJobTemplate: the queue must be named ${QUEUE_SLOT}`);
  let captured: { name: string; args: unknown[] } | undefined;
  const interceptor = {
    runCommand: async (name: string, args: unknown[]) => {
      captured = { name, args };
      return 'captured';
    },
  };
  const job = new Job(slotQueue, 'replay', { runId: RUN_ID_PLACEHOLDER }, replayJobOptions(RUN_ID_PLACEHOLDER) as never);
  job.timestamp = TIMESTAMP_MARKER;
  await job.addJob(interceptor as never);
  if (!captured || !captured.name.startsWith('addStandardJob:') || captured.args.length !== 12) {
    throw contractError(`Job#addJob sent ${captured?.name ?? 'nothing'} with ${captured?.args.length ?? 0} args (expected addStandardJob with 12)`);
  }
  const a = captured.args;
  const keys = a.slice(0, 9).map((k, i) => cut(String(k), QUEUE_SLOT, `key ${i + 1}`));
  const data = String(a[10]);
  const args = Buffer.from(a[9] as Buffer);
  const opts = Buffer.from(a[11] as Buffer);
  // The per-job parts are found once here, as exact byte patterns that must each occur once.
  const keyPrefix = `${keys[0]![0]}${QUEUE_SLOT}:`;
  const dedupTemplate = `${String(a[0]).replace(/wait$/, '')}de:${RUN_ID_PLACEHOLDER}`;
  const encPrefix = packr.pack(keyPrefix);
  const encDedup = packr.pack(dedupTemplate);
  const encTs = packr.pack(TIMESTAMP_MARKER);
  const encSlot = packr.pack(RUN_ID_PLACEHOLDER);
  const checks: [string, boolean][] = [
    ['job data holds the run id once', data.split(RUN_ID_PLACEHOLDER).length === 2],
    ['args hold the key prefix once', occurrences(args, encPrefix) === 1],
    ['args hold the deduplication key once', occurrences(args, encDedup) === 1],
    ['args hold the timestamp once', occurrences(args, encTs) === 1],
    ['opts hold the deduplication id once', occurrences(opts, encSlot) === 1],
  ];
  for (const [what, ok] of checks) {
    if (!ok) throw contractError(`${what} is no longer true`);
  }
  const at = { p: args.indexOf(encPrefix), d: args.indexOf(encDedup), t: args.indexOf(encTs) };
  if (at.p > Math.min(at.d, at.t)) throw contractError('the key prefix no longer comes first in the args');
  const [first, second] = at.d < at.t ? [encDedup, encTs] : [encTs, encDedup];
  const i1 = Math.min(at.d, at.t);
  const i2 = Math.max(at.d, at.t);
  const iSlot = opts.indexOf(encSlot);
  const [dedupQueueHead, dedupRest] = cut(dedupTemplate, QUEUE_SLOT, 'the deduplication key');
  const [dedupMid, dedupTail] = cut(dedupRest, RUN_ID_PLACEHOLDER, 'the deduplication key');
  const copy = (b: Buffer) => Buffer.from(b);
  return {
    keys,
    args: [copy(args.subarray(0, at.p)), copy(args.subarray(at.p + encPrefix.length, i1)), copy(args.subarray(i1 + first.length, i2)), copy(args.subarray(i2 + second.length))],
    keyPrefix: cut(keyPrefix, QUEUE_SLOT, 'the key prefix'),
    order: at.d < at.t ? 'd' : 't',
    dedup: [dedupQueueHead, dedupMid, dedupTail],
    data: cut(data, RUN_ID_PLACEHOLDER, 'the job data'),
    opts: [copy(opts.subarray(0, iSlot)), copy(opts.subarray(iSlot + encSlot.length))],
  };
}

/** Fails fast when the installed bullmq does not match what our scripts wrap. */
export async function checkBullmqContract(slotQueue: Queue): Promise<void> {
  bullAddStandardJobLua();
  await captureReplayJobTemplate(slotQueue);
}
