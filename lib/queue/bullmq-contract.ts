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

/** What our scripts' enqueueReplay include needs (see lua/includes/enqueueReplay.lua). */
export interface ReplayJobTemplate {
  /** BullMQ's 9 keys of the workflow queue (the last KEYS of the scripts that enqueue). */
  keys: string[];
  /**
   * The job's packed args, data and opts cut around the places that vary per
   * job, so that Lua only concatenates: args head, middle and tail around the
   * packed deduplication key and timestamp; their order ('d' = key first,
   * 't' = timestamp first); the deduplication key before and after the run
   * id; the job data (JSON) before and after the run id; the packed opts
   * before and after the packed run id. They are compiled into the scripts as
   * constants ({@link replayJobPartsLua}), not sent with every call: a binary
   * argument costs the caller far more than its bytes (ioredis then builds
   * the whole command as buffers).
   */
  parts: Buffer[];
}

/** Lua source of a bytes value as a string literal (printable ASCII as is, every other byte as a 3-digit escape). */
function luaBytes(b: Buffer): string {
  let out = '"';
  for (const c of b) out += c >= 0x20 && c < 0x7f && c !== 0x22 && c !== 0x5c ? String.fromCharCode(c) : `\\${String(c).padStart(3, '0')}`;
  return `${out}"`;
}

/** The template parts as the Lua constant enqueueReplay reads (`REPLAY_JOB_PARTS`). */
export function replayJobPartsLua(parts: readonly Buffer[]): string {
  return `local REPLAY_JOB_PARTS = { ${parts.map(luaBytes).join(', ')} }`;
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

/** Captures, once per queue, the arguments BullMQ would send for a replay job. */
export async function captureReplayJobTemplate(queue: Queue): Promise<ReplayJobTemplate> {
  let captured: { name: string; args: unknown[] } | undefined;
  const interceptor = {
    runCommand: async (name: string, args: unknown[]) => {
      captured = { name, args };
      return 'captured';
    },
  };
  const job = new Job(queue, 'replay', { runId: RUN_ID_PLACEHOLDER }, replayJobOptions(RUN_ID_PLACEHOLDER) as never);
  job.timestamp = TIMESTAMP_MARKER;
  await job.addJob(interceptor as never);
  if (!captured || !captured.name.startsWith('addStandardJob:') || captured.args.length !== 12) {
    throw new Error(
      `bullmq contract changed: Job#addJob sent ${captured?.name ?? 'nothing'} with ${captured?.args.length ?? 0} args ` +
        `(expected addStandardJob with 12). Pin bullmq@${BULLMQ_TESTED_VERSION}.`,
    );
  }
  const a = captured.args;
  const data = String(a[10]);
  const args = Buffer.from(a[9] as Buffer);
  const opts = Buffer.from(a[11] as Buffer);
  // The per-job parts are found once here, as exact byte patterns that must each occur once.
  const dedupTemplate = `${a[0]!.toString().replace(/wait$/, '')}de:${RUN_ID_PLACEHOLDER}`;
  const encDedup = packr.pack(dedupTemplate);
  const encTs = packr.pack(TIMESTAMP_MARKER);
  const encSlot = packr.pack(RUN_ID_PLACEHOLDER);
  const checks: [string, boolean][] = [
    ['job data holds the run id once', data.split(RUN_ID_PLACEHOLDER).length === 2],
    ['args hold the deduplication key once', occurrences(args, encDedup) === 1],
    ['args hold the timestamp once', occurrences(args, encTs) === 1],
    ['opts hold the deduplication id once', occurrences(opts, encSlot) === 1],
  ];
  for (const [what, ok] of checks) {
    if (!ok) throw new Error(`bullmq contract changed: ${what} is no longer true. Pin bullmq@${BULLMQ_TESTED_VERSION}.`);
  }
  const at = { d: args.indexOf(encDedup), t: args.indexOf(encTs) };
  const [first, second] = at.d < at.t ? [encDedup, encTs] : [encTs, encDedup];
  const i1 = Math.min(at.d, at.t);
  const i2 = Math.max(at.d, at.t);
  const iSlot = opts.indexOf(encSlot);
  const [dataHead, dataTail] = data.split(RUN_ID_PLACEHOLDER) as [string, string];
  const [dedupHead, dedupTail] = dedupTemplate.split(RUN_ID_PLACEHOLDER) as [string, string];
  const parts = [
    args.subarray(0, i1),
    args.subarray(i1 + first.length, i2),
    args.subarray(i2 + second.length),
    Buffer.from(at.d < at.t ? 'd' : 't'),
    Buffer.from(dedupHead),
    Buffer.from(dedupTail),
    Buffer.from(dataHead),
    Buffer.from(dataTail),
    opts.subarray(0, iSlot),
    opts.subarray(iSlot + encSlot.length),
  ];
  return { keys: a.slice(0, 9).map(String), parts: parts.map((p) => Buffer.from(p)) };
}

/** Fails fast when the installed bullmq does not match what our scripts wrap. */
export async function checkBullmqContract(queue: Queue): Promise<void> {
  bullAddStandardJobLua();
  await captureReplayJobTemplate(queue);
}
