/**
 * Benchmark (not a test): the cost of `resumeHook` next to a plain ioredis
 * PING and a plain BullMQ `Queue.add`, on the same Redis, in one process.
 *
 *   npm run bench:resume                      # private redis-server from PATH
 *   REDIS_URL=redis://host:6379 npm run bench:resume
 *   npm run bench:resume -- --rounds 5 --seq 5000 --conc 20000 --concurrency 64 --check
 *
 * Per round: sequential latency (ops interleaved call by call, the order
 * rotated every iteration, so machine noise hits all of them alike), then
 * throughput with N concurrent callers (each op in turn, order rotated per
 * round). The summary is the median over rounds. Targets (docs/BENCHMARKS.md):
 * resumeHook p50 ≤ 1.1 × Queue.add p50 and
 * ≤ 3 × PING p50. Writes bench-results/resume.json.
 *
 * Ops measured:
 * - `resumeHook`: the public API on one run + one hook (one run waiting on one hook).
 *   That run's replay job stays waiting (no worker), so every resume takes
 *   BullMQ's de-duplication path (no new job hash is written).
 * - `resumeHook (new job)`: the public API, each call on a different run
 *   whose replay job is gone (as when a suspended run waits on a hook), so the
 *   script creates a real job. Informational.
 * - `store.resumeHook`: the Lua script alone (pre-serialised payload,
 *   pre-minted resume ids); the difference to `resumeHook` is client-side work.
 * - `EVALSHA noop`: `return 1` through ioredis defineCommand (script-call floor).
 * - `PING`, `Queue.add` (separate queue, `removeOnComplete: true`).
 *
 * With a private server it also reads INFO commandstats/latencystats per op
 * (server time per call, commands per call) and, unless --no-breakdown,
 * decomposes resumeHook: client-side serialisation, and server time of
 * cut-down copies of its Lua script next to BullMQ's own Queue.add.
 *
 * Last, the fan-out rows (scripts/bench-fanout.ts): resumeHooks({ tag }) over
 * 1, 100 and 1,000 hooks, time per hook resumed next to a single resumeHook.
 */
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { configure, closeWorkflowClient, resumeHook } from 'workflow-redis/api';
import { getStore, DEFAULT_MAX_PAYLOAD_BYTES } from '../lib/runtime/config.js';
import { serialize, serializeLimited } from '../lib/serialization/codec.js';
import { newHookToken, newResumeId } from '../lib/runtime/ids.js';
import { assertToken } from '../lib/runtime/validate.js';
import { toHookInfo } from '../lib/runtime/hooks.js';
import type { Store } from '../lib/redis/store.js';
import type { HookRecord } from '../lib/redis/store-types.js';
import { QUEUE_NAMES } from '../lib/redis/keys.js';
import type { ReplayJobTemplate } from '../lib/queue/bullmq-contract.js';
import { launchRedis, type LaunchedRedis } from './redis-launcher.js';
import { fanOutBench } from './bench-fanout.js';
import { intArg } from './bench-args.js';

// ---------------------------------------------------------------- parameters

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
// Workers log each run's start and end at info: a benchmark measures the engine, not stderr (its children inherit this).
process.env.WORKFLOW_REDIS_LOG_LEVEL ??= 'warn';

const arg = intArg;

const PARAMS = {
  rounds: arg('rounds', 3),
  warmupSeq: arg('warmup-seq', 500),
  seq: arg('seq', 5000),
  warmupConc: arg('warmup-conc', 2000),
  conc: arg('conc', 20000),
  concurrency: arg('concurrency', 64),
  serverStatsOps: arg('server-stats-ops', 2000),
  breakdownOps: arg('breakdown-ops', 3000),
};
const CHECK = process.argv.includes('--check') || process.env.BENCH_CHECK === '1';
const BREAKDOWN = !process.argv.includes('--no-breakdown') && process.env.BENCH_BREAKDOWN !== '0';
const TARGETS = { resumeVsQueueAdd: 1.1, resumeVsPing: 3 };

// ---------------------------------------------------------------- helpers

const now = () => performance.now() * 1000; // µs

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[idx]!;
}

interface LatencyStats {
  p50: number;
  p99: number;
  mean: number;
  n: number;
}

function latencyStats(samples: Float64Array): LatencyStats {
  const s = Float64Array.from(samples).sort();
  let sum = 0;
  for (const v of s) sum += v;
  return { p50: percentile(s, 0.5), p99: percentile(s, 0.99), mean: sum / s.length, n: s.length };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

function pkgVersion(name: string): string {
  try {
    return JSON.parse(readFileSync(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    try {
      return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  }
}

async function deleteMatching(client: Redis, pattern: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await client.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

/** Runs `fn` for indexes [0, total) with `concurrency` callers; returns elapsed µs and per-call latencies. */
async function runConcurrent(fn: () => Promise<unknown>, total: number, concurrency: number) {
  const lat = new Float64Array(total);
  let next = 0;
  const t0 = now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const s = now();
        await fn();
        lat[i] = now() - s;
      }
    }),
  );
  return { elapsedUs: now() - t0, lat };
}

// ---------------------------------------------------------------- fixture

interface Fixture {
  store: Store;
  prefix: string;
  token: string;
  /** Tokens of runs with a live hook and no replay job (one per `resumeHook (new job)` call). */
  freshTokens: string[];
  pingClient: Redis & { benchNoop(): Promise<number> };
  queueClient: Redis;
  queue: Queue;
}

/** The route of the runs this benchmark creates (their queue is `workflows/bench@1`). */
const BENCH_ROUTE = { workflowName: 'bench', version: '1' };

async function createRunWithHook(store: Store, token: string): Promise<void> {
  const runId = `wrun_bench_${newResumeId().replace(/[^A-Za-z0-9]/g, 'x')}`;
  await store.createRun({ runId, ...BENCH_ROUTE, input: serialize([]), data: serialize(BENCH_ROUTE) });
  const { results } = await store.commit(runId, null, [
    { t: 'hook_created', c: 'hook_1', d: serialize({ token }), tk: token, wh: false },
  ]);
  if (results[0]?.r !== 'ok') throw new Error(`hook_created was refused: ${JSON.stringify(results)}`);
}

/**
 * Creates `count` runs with a hook each, then removes the workflow queue's
 * keys so none of them has a replay job (the state of a suspended run).
 */
async function prepareFreshRuns(fx: Fixture, count: number): Promise<void> {
  const tokens = Array.from({ length: count }, () => newHookToken());
  let next = 0;
  await Promise.all(
    Array.from({ length: 64 }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await createRunWithHook(fx.store, tokens[i]!);
      }
    }),
  );
  await deleteMatching(fx.store.client as Redis, `${fx.store.keys.bullPrefix}:${QUEUE_NAMES.replays(BENCH_ROUTE)}:*`);
  fx.freshTokens = tokens;
}

// ---------------------------------------------------------------- ops

type OpName = 'resumeHook' | 'resumeHook (new job)' | 'store.resumeHook' | 'EVALSHA noop' | 'PING' | 'Queue.add';
const OPS: OpName[] = ['resumeHook', 'resumeHook (new job)', 'store.resumeHook', 'EVALSHA noop', 'PING', 'Queue.add'];

/** Builds the op functions for one phase (pools sized for `calls` calls of each). */
function makeOps(fx: Fixture, calls: number): Record<OpName, () => Promise<unknown>> {
  let n = 0;
  let fresh = 0;
  const resumeIds = Array.from({ length: calls }, () => newResumeId());
  let rid = 0;
  const presetData = serializeLimited({ payload: { approved: true, i: 0 } }, DEFAULT_MAX_PAYLOAD_BYTES, 'payload');
  return {
    resumeHook: () => resumeHook(fx.token, { approved: true, i: n++ }),
    'resumeHook (new job)': () => {
      const token = fx.freshTokens[fresh++];
      if (token === undefined) throw new Error('fresh run pool exhausted');
      return resumeHook(token, { approved: true, i: n++ });
    },
    'store.resumeHook': () => fx.store.resumeHook(fx.token, presetData, resumeIds[rid++]!),
    'EVALSHA noop': () => fx.pingClient.benchNoop(),
    PING: () => fx.pingClient.ping(),
    'Queue.add': () => fx.queue.add('replay', { runId: 'wrun_bench_queue_add' }, { removeOnComplete: true }),
  };
}

interface RoundResult {
  round: number;
  sequential: Record<OpName, LatencyStats>;
  concurrent: Record<OpName, { opsPerSec: number; elapsedMs: number; p50: number; p99: number }>;
  concurrentOrder: OpName[];
}

async function runRound(fx: Fixture, r: number): Promise<RoundResult> {
  const seqCalls = PARAMS.warmupSeq + PARAMS.seq;
  const concCalls = PARAMS.warmupConc + PARAMS.conc;
  await prepareFreshRuns(fx, seqCalls + concCalls);

  // Sequential: interleaved call by call, rotated order.
  const seqOps = makeOps(fx, seqCalls);
  const fns = OPS.map((o) => seqOps[o]);
  const lat = OPS.map(() => new Float64Array(PARAMS.seq));
  for (let i = 0; i < seqCalls; i++) {
    for (let j = 0; j < fns.length; j++) {
      const k = (i + j + r) % fns.length;
      const s = now();
      await fns[k]!();
      const d = now() - s;
      if (i >= PARAMS.warmupSeq) lat[k]![i - PARAMS.warmupSeq] = d;
    }
  }
  const sequential = Object.fromEntries(OPS.map((o, k) => [o, latencyStats(lat[k]!)])) as RoundResult['sequential'];

  // Concurrent: each op in turn (order rotated per round), warm-up first.
  const concOps = makeOps(fx, concCalls);
  const order = OPS.map((_, k) => OPS[(k + r) % OPS.length]!);
  const concurrent = {} as RoundResult['concurrent'];
  for (const o of order) {
    await runConcurrent(concOps[o], PARAMS.warmupConc, PARAMS.concurrency);
    const { elapsedUs, lat: l } = await runConcurrent(concOps[o], PARAMS.conc, PARAMS.concurrency);
    const st = latencyStats(l);
    concurrent[o] = { opsPerSec: PARAMS.conc / (elapsedUs / 1e6), elapsedMs: elapsedUs / 1000, p50: st.p50, p99: st.p99 };
  }
  return { round: r + 1, sequential, concurrent, concurrentOrder: order };
}

// ---------------------------------------------------------------- where time goes

interface ServerStat {
  op: OpName;
  calls: number;
  commandsPerCall: Record<string, number>;
  serverUsecPerCall: number;
  evalshaLatencyP50Usec?: number;
}

/** Server-side time per op from INFO commandstats/latencystats (private server only: it resets the stats). */
async function serverStats(fx: Fixture): Promise<ServerStat[]> {
  const n = PARAMS.serverStatsOps;
  await prepareFreshRuns(fx, n + 10);
  const ops = makeOps(fx, n + 10);
  const admin = fx.queueClient.duplicate();
  const out: ServerStat[] = [];
  try {
    for (const o of ['resumeHook', 'resumeHook (new job)', 'Queue.add', 'EVALSHA noop', 'PING'] as OpName[]) {
      for (let i = 0; i < 10; i++) await ops[o](); // warm (EVALSHA cached, connections up)
      await admin.config('RESETSTAT');
      for (let i = 0; i < n; i++) await ops[o]();
      const info = await admin.info('commandstats');
      const lat = await admin.info('latencystats').catch(() => '');
      const perCall: Record<string, number> = {};
      let usec = 0;
      for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
        const cmd = m[1]!;
        if (cmd.startsWith('config') || cmd === 'info') continue; // the admin connection's own
        perCall[cmd] = round3(Number(m[2]) / n);
        // Commands a script runs are counted on their own too, and their time is
        // inside the script's: sum only the top-level commands.
        if (cmd === 'evalsha' || cmd === 'eval' || cmd === 'ping') usec += Number(m[3]);
      }
      const p50 = /latency_percentiles_usec_evalsha:p50=([\d.]+)/.exec(lat);
      out.push({
        op: o,
        calls: n,
        commandsPerCall: perCall,
        serverUsecPerCall: round1(usec / n), // mean, top-level commands
        evalshaLatencyP50Usec: p50 && o !== 'PING' ? Number(p50[1]) : undefined,
      });
    }
  } finally {
    admin.disconnect();
  }
  return out;
}

/** Client CPU per call, no I/O: the work resumeHook does around the script. */
function clientCpu(token: string, hookRecJson: string) {
  const N = 50_000;
  const bench = (fn: (i: number) => unknown) => {
    for (let i = 0; i < 2000; i++) fn(i);
    const t0 = now();
    for (let i = 0; i < N; i++) fn(i);
    return round3((now() - t0) / N);
  };
  return {
    'assertToken + serializeLimited({payload}) + newResumeId (µs)': bench((i) => {
      assertToken(token);
      serializeLimited({ payload: { approved: true, i } }, DEFAULT_MAX_PAYLOAD_BYTES, 'payload');
      return newResumeId();
    }),
    'serializeLimited({payload}) alone (µs)': bench((i) =>
      serializeLimited({ payload: { approved: true, i } }, DEFAULT_MAX_PAYLOAD_BYTES, 'payload'),
    ),
    'JSON.stringify({payload}) for comparison (µs)': bench((i) => JSON.stringify({ payload: { approved: true, i } })),
    'newResumeId (nanoid 16) (µs)': bench(() => newResumeId()),
    'JSON.parse(hook record) + toHookInfo (µs)': bench(() => toHookInfo(JSON.parse(hookRecJson) as HookRecord)),
  };
}

interface Breakdown {
  /** Sequential p50 (µs), interleaved: where the client-side part of resumeHook goes. */
  client: Record<string, number>;
  /** Server µs per call (INFO commandstats, median of 3 batches): variants of the Lua script and of Queue.add. */
  server: Record<string, { usecPerCall: number; batches: number[] }>;
  skipped: string[];
}

/**
 * Decomposes resumeHook (private server only). Client side: the script alone
 * vs the script plus a payload serialised with JSON.stringify or with
 * serializeLimited (superjson). Server side: cut-down copies of the resumeHook
 * Lua (built with the library's own buildScript, called with the store's exact
 * KEYS/ARGV) next to BullMQ's own Queue.add with the same replay-job options.
 * Reads Store internals (templates, bullKeys, template): bench-only, and any
 * variant that no longer fits the code is skipped, never fatal.
 */
async function breakdown(fx: Fixture): Promise<Breakdown> {
  const { buildScript } = await import('../lib/redis/scripts.js');
  const { bullAddStandardJobLua, replayJobOptions } = await import('../lib/queue/bullmq-contract.js');
  const n = PARAMS.breakdownOps;
  const skipped: string[] = [];
  const internals = fx.store as unknown as {
    templates: { run: string; events: string; resumes: string };
    template: ReplayJobTemplate;
  };
  const { templates: t, template } = internals;
  if (!t || !template || !Array.isArray(template.keys)) throw new Error('Store internals changed (templates/template)');
  const keys = [fx.store.keys.hooks()];
  const data = serializeLimited({ payload: { approved: true, i: 0 } }, DEFAULT_MAX_PAYLOAD_BYTES, 'payload');
  const runId = (await fx.store.getHook(fx.token))!.runId;
  const client = (fx.store.client as Redis).duplicate() as Redis & Record<string, (...a: unknown[]) => Promise<unknown>>;
  const admin = fx.queueClient.duplicate();
  try {
    // ---- client side
    let k = 0;
    const clientOps: Record<string, () => Promise<unknown>> = {
      'store.resumeHook (pre-serialised payload)': () => fx.store.resumeHook(fx.token, data, newResumeId()),
      '+ JSON.stringify payload (a plain-JSON fast path)': () =>
        fx.store.resumeHook(fx.token, JSON.stringify({ json: { payload: { approved: true, i: k++ } } }), newResumeId()),
      '+ serializeLimited payload (superjson, as the API)': () =>
        fx.store.resumeHook(fx.token, serializeLimited({ payload: { approved: true, i: k++ } }, DEFAULT_MAX_PAYLOAD_BYTES, 'payload'), newResumeId()),
      'API resumeHook': () => resumeHook(fx.token, { approved: true, i: k++ }),
    };
    const cNames = Object.keys(clientOps);
    const lat = cNames.map(() => new Float64Array(n));
    for (let i = 0; i < n + 300; i++) {
      for (let j = 0; j < cNames.length; j++) {
        const x = (i + j) % cNames.length;
        const s0 = now();
        await clientOps[cNames[x]!]!();
        if (i >= 300) lat[x]![i - 300] = now() - s0;
      }
    }
    const clientP50 = Object.fromEntries(cNames.map((nm, x) => [nm, round1(latencyStats(lat[x]!).p50)]));

    // ---- server side
    const full = buildScript('resumeHook', template);
    const lookupLine = "local rec = redis.call('HGET', KEYS[1], ARGV[1])";
    const cut = full.indexOf(lookupLine);
    const enqueueCall = /^enqueueReplay\(runId, now, live\[2\]\)\s*$/m;
    const head = cut >= 0 ? full.slice(0, cut) : '';
    const lookup = `${lookupLine}\nlocal hook = cjson.decode(rec)\n`;
    const queueOf = "redis.call('HGET', fillTemplate(ARGV[4], hook.runId), 'queue')";
    const enq = `local p = replayJob()\nlocal runId = hook.runId\nlocal queue = ${queueOf}\n`;
    // The job assembly of includes/enqueueReplay.lua (template parts joined with the queue, run id and time), without the BullMQ add.
    const assemble =
      'local k = {}\nfor i, kk in ipairs(p.keys) do k[i] = kk[1] .. queue .. kk[2] end\n' +
      'local pre = cmsgpack.pack(p.keyPrefix[1] .. queue .. p.keyPrefix[2])\n' +
      'local x, y = cmsgpack.pack(p.dedup[1] .. queue .. p.dedup[2] .. runId .. p.dedup[3]), cmsgpack.pack(nowMs())\n' +
      "if p.order == 't' then x, y = y, x end\n" +
      'local a = p.args[1] .. pre .. p.args[2] .. x .. p.args[3] .. y .. p.args[4]\n' +
      'local d = p.data[1] .. runId .. p.data[2]\n' +
      'local o = p.opts[1] .. cmsgpack.pack(runId) .. p.opts[2]\n';
    const lua: Record<string, string | undefined> = {
      'resumeHook script (full)': full,
      'token lookup + cjson.decode only': cut >= 0 ? `${head}${lookup}return 1` : undefined,
      '+ job assembly from the template parts': cut >= 0 ? `${head}${lookup}${enq}${assemble}return 1` : undefined,
      'token lookup + enqueueReplay (assembly + BullMQ add)': cut >= 0 ? `${head}${lookup}return enqueueReplay(hook.runId, nowMs(), ${queueOf})` : undefined,
      'resumeHook script minus enqueueReplay (event-store part)': enqueueCall.test(full) ? full.replace(enqueueCall, '') : undefined,
      'BullMQ prelude only (+ return 1)': `${bullAddStandardJobLua()}\nreturn 1`,
    };
    const serverOps: Record<string, () => Promise<unknown>> = {};
    let v = 0;
    for (const [name, text] of Object.entries(lua)) {
      if (!text) {
        skipped.push(name);
        continue;
      }
      const cmd = `benchVariant${v++}`;
      client.defineCommand(cmd, { lua: text });
      serverOps[name] = () => client[cmd]!(keys.length, ...keys, fx.token, newResumeId(), data, t.run, t.events, t.resumes, '0');
    }
    let q = 0;
    serverOps['Queue.add, replay-job options, dedup hit (same path as resumeHook)'] = () =>
      fx.store.queues(BENCH_ROUTE).replays.add('replay', { runId }, replayJobOptions(runId) as never);
    serverOps['Queue.add, replay-job options, new job'] = () => {
      const id = `wrun_bench_q${q++}`;
      return fx.queue.add('replay', { runId: id }, replayJobOptions(id) as never);
    };
    serverOps['Queue.add (plain, removeOnComplete)'] = () => fx.queue.add('replay', { runId: 'wrun_bench_queue_add' }, { removeOnComplete: true });
    const sNames = Object.keys(serverOps);
    for (const nm of sNames) for (let i = 0; i < 20; i++) await serverOps[nm]!();
    const batches: Record<string, number[]> = Object.fromEntries(sNames.map((nm) => [nm, []]));
    for (let r = 0; r < 3; r++) {
      for (let j = 0; j < sNames.length; j++) {
        const nm = sNames[(j + r) % sNames.length]!;
        await admin.config('RESETSTAT');
        for (let i = 0; i < n; i++) await serverOps[nm]!();
        const m = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await admin.info('commandstats'));
        batches[nm]!.push(m ? Number(m[2]) / Number(m[1]) : NaN);
      }
    }
    const server = Object.fromEntries(sNames.map((nm) => [nm, { usecPerCall: round1(median(batches[nm]!)), batches: batches[nm]!.map(round1) }]));
    return { client: clientP50, server, skipped };
  } finally {
    client.disconnect();
    admin.disconnect();
  }
}

// ---------------------------------------------------------------- report

function pad(s: string, n: number, right = false): string {
  return right ? s.padStart(n) : s.padEnd(n);
}

function fmt(x: number, digits = 1): string {
  return Number.isFinite(x) ? x.toFixed(digits) : '-';
}

async function main(): Promise<void> {
  let server: LaunchedRedis | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    server = await launchRedis({ quiet: true });
    url = server.url;
  }
  const prefix = `bench-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 6)}`;
  const queuePrefix = `${prefix}-bullmq`;
  configure({ connection: url, prefix });

  let fx: Fixture | undefined;
  let exitCode = 0;
  try {
    const store = await getStore();
    const token = newHookToken();
    await createRunWithHook(store, token);
    const pingClient = new Redis(url, { maxRetriesPerRequest: 20, connectionName: 'bench-ping' }) as Fixture['pingClient'];
    pingClient.defineCommand('benchNoop', { numberOfKeys: 0, lua: 'return 1' });
    const queueClient = new Redis(url, { maxRetriesPerRequest: 20, connectionName: 'bench-queue' });
    const queue = new Queue('bench-add', { connection: queueClient, prefix: queuePrefix });
    fx = { store, prefix, token, freshTokens: [], pingClient, queueClient, queue };

    const serverInfo = await pingClient.info('server');
    const versions = {
      node: process.version,
      redis: /redis_version:([^\r\n]+)/.exec(serverInfo)?.[1] ?? 'unknown',
      bullmq: pkgVersion('bullmq'),
      ioredis: pkgVersion('ioredis'),
      superjson: pkgVersion('superjson'),
      workflowRedis: JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version as string,
    };
    const redisTarget = server ? `private redis-server (pid ${server.pid}, ${server.url})` : `REDIS_URL ${url.replace(/\/\/[^@]*@/, '//***@')}`;
    console.log(`resumeHook benchmark: node ${versions.node}, redis ${versions.redis}, bullmq ${versions.bullmq}, ioredis ${versions.ioredis}`);
    console.log(`Redis: ${redisTarget}; prefix ${prefix}`);
    console.log(
      `${PARAMS.rounds} rounds × (sequential ${PARAMS.warmupSeq} warm-up + ${PARAMS.seq} measured per op, interleaved; ` +
        `${PARAMS.concurrency} concurrent callers: ${PARAMS.warmupConc} warm-up + ${PARAMS.conc} measured per op)\n`,
    );

    const rounds: RoundResult[] = [];
    for (let r = 0; r < PARAMS.rounds; r++) {
      const t0 = Date.now();
      rounds.push(await runRound(fx, r));
      const last = rounds[rounds.length - 1]!;
      console.log(
        `round ${r + 1}/${PARAMS.rounds} (${((Date.now() - t0) / 1000).toFixed(1)} s): p50 µs ` +
          OPS.map((o) => `${o} ${fmt(last.sequential[o].p50)}`).join(', '),
      );
    }

    // Medians over rounds.
    const summary = Object.fromEntries(
      OPS.map((o) => [
        o,
        {
          seqP50: median(rounds.map((x) => x.sequential[o].p50)),
          seqP99: median(rounds.map((x) => x.sequential[o].p99)),
          seqMean: median(rounds.map((x) => x.sequential[o].mean)),
          concOpsPerSec: median(rounds.map((x) => x.concurrent[o].opsPerSec)),
          concP50: median(rounds.map((x) => x.concurrent[o].p50)),
          concP99: median(rounds.map((x) => x.concurrent[o].p99)),
        },
      ]),
    ) as Record<OpName, { seqP50: number; seqP99: number; seqMean: number; concOpsPerSec: number; concP50: number; concP99: number }>;

    const ratio = (a: OpName, b: OpName) => summary[a].seqP50 / summary[b].seqP50;
    const perRound = (a: OpName, b: OpName) => rounds.map((x) => round3(x.sequential[a].p50 / x.sequential[b].p50));
    const ratios = {
      'resumeHook p50 / Queue.add p50': {
        value: round3(ratio('resumeHook', 'Queue.add')),
        perRound: perRound('resumeHook', 'Queue.add'),
        target: TARGETS.resumeVsQueueAdd,
        pass: ratio('resumeHook', 'Queue.add') <= TARGETS.resumeVsQueueAdd,
      },
      'resumeHook p50 / PING p50': {
        value: round3(ratio('resumeHook', 'PING')),
        perRound: perRound('resumeHook', 'PING'),
        target: TARGETS.resumeVsPing,
        pass: ratio('resumeHook', 'PING') <= TARGETS.resumeVsPing,
      },
    };
    const informational = {
      'resumeHook (new job) p50 / Queue.add p50': { value: round3(ratio('resumeHook (new job)', 'Queue.add')), perRound: perRound('resumeHook (new job)', 'Queue.add'), target: TARGETS.resumeVsQueueAdd },
      'resumeHook (new job) p50 / PING p50': { value: round3(ratio('resumeHook (new job)', 'PING')), perRound: perRound('resumeHook (new job)', 'PING'), target: TARGETS.resumeVsPing },
      'resumeHook ops/s / Queue.add ops/s (64 concurrent)': { value: round3(summary.resumeHook.concOpsPerSec / summary['Queue.add'].concOpsPerSec) },
      'resumeHook p50 - store.resumeHook p50 (µs, client-side work)': { value: round1(summary.resumeHook.seqP50 - summary['store.resumeHook'].seqP50) },
    };

    // Table.
    const W = 22;
    console.log(`\nMedian of ${PARAMS.rounds} rounds — node ${process.version}, redis ${versions.redis}`);
    console.log(
      `${pad('op', W)}${pad('seq p50 µs', 12, true)}${pad('seq p99 µs', 12, true)}${pad('seq mean µs', 13, true)}` +
        `${pad(`c=${PARAMS.concurrency} ops/s`, 14, true)}${pad('c p50 µs', 11, true)}${pad('c p99 µs', 11, true)}`,
    );
    console.log('-'.repeat(W + 12 + 12 + 13 + 14 + 11 + 11));
    for (const o of OPS) {
      const s = summary[o];
      console.log(
        `${pad(o, W)}${pad(fmt(s.seqP50), 12, true)}${pad(fmt(s.seqP99), 12, true)}${pad(fmt(s.seqMean), 13, true)}` +
          `${pad(fmt(s.concOpsPerSec, 0), 14, true)}${pad(fmt(s.concP50, 0), 11, true)}${pad(fmt(s.concP99, 0), 11, true)}`,
      );
    }
    console.log('\nRatios (sequential p50, median of rounds; per-round values in brackets)');
    for (const [name, r] of Object.entries(ratios)) {
      console.log(`  ${pad(name, 62)} ${fmt(r.value, 2).padStart(6)}  target ≤ ${r.target}  ${r.pass ? 'PASS' : 'FAIL'}  [${r.perRound.map((x) => x.toFixed(2)).join(', ')}]`);
    }
    for (const [name, r] of Object.entries(informational)) {
      const extra = 'perRound' in r ? `  [${r.perRound.map((x) => x.toFixed(2)).join(', ')}]` : '';
      const tgt = 'target' in r ? `  (target ≤ ${r.target}, informational)` : '';
      console.log(`  ${pad(name, 62)} ${fmt(r.value, 2).padStart(6)}${tgt}${extra}`);
    }

    // Where the time goes.
    const rec = await store.getHook(token);
    const cpu = clientCpu(token, JSON.stringify(rec));
    console.log('\nClient CPU per call (no I/O, mean of 50 000)');
    for (const [k, v] of Object.entries(cpu)) console.log(`  ${pad(k, 62)} ${v.toFixed(2).padStart(7)}`);

    let server_: ServerStat[] | undefined;
    if (server) {
      server_ = await serverStats(fx);
      console.log(`\nServer side (INFO commandstats/latencystats over ${PARAMS.serverStatsOps} sequential calls each; µs/call is the mean of the top-level command)`);
      for (const s of server_) {
        const cmds = Object.entries(s.commandsPerCall).map(([c, k]) => `${c}×${k}`).join(' ');
        console.log(
          `  ${pad(s.op, W)} ${s.serverUsecPerCall.toFixed(1).padStart(6)} µs/call` +
            `${s.evalshaLatencyP50Usec !== undefined ? `  (evalsha p50 ${s.evalshaLatencyP50Usec} µs)` : ''}  commands/call: ${cmds}`,
        );
      }
    } else {
      console.log('\n(Server-side stats skipped: they reset INFO stats, done only on the private server.)');
    }

    let breakdown_: Breakdown | { error: string } | undefined;
    if (server && BREAKDOWN) {
      try {
        const b = await breakdown(fx);
        breakdown_ = b;
        console.log(`\nBreakdown, client side (sequential p50 µs, ${PARAMS.breakdownOps} calls each, interleaved)`);
        for (const [k, v] of Object.entries(b.client)) console.log(`  ${pad(k, 68)} ${fmt(v).padStart(7)}`);
        console.log(`Breakdown, server side (evalsha µs/call, median of 3 × ${PARAMS.breakdownOps} calls; Lua variants get the store's exact KEYS/ARGV)`);
        for (const [k, v] of Object.entries(b.server)) console.log(`  ${pad(k, 68)} ${fmt(v.usecPerCall).padStart(7)}  [${v.batches.map((x) => fmt(x)).join(', ')}]`);
        if (b.skipped.length) console.log(`  (skipped, script text changed: ${b.skipped.join('; ')})`);
      } catch (err) {
        breakdown_ = { error: (err as Error).message };
        console.log(`\n(Breakdown skipped: ${(err as Error).message})`);
      }
    }

    // Fan-out: resumeHooks({ tag }) over 1, 100 and 1,000 hooks, per hook next to one resumeHook.
    const fanOut = await fanOutBench(store);
    console.log(`\nresumeHooks({ tag }) (sequential calls, median; one resumeHook p50 here: ${fmt(fanOut.resumeHookP50Us)} µs)`);
    console.log(`${pad('hooks', 8)}${pad('calls', 8, true)}${pad('ms/call p50', 14, true)}${pad('µs/hook', 10, true)}${pad('× resumeHook', 14, true)}`);
    for (const r of fanOut.rows) {
      console.log(`${pad(String(r.hooks), 8)}${pad(String(r.calls), 8, true)}${pad(fmt(r.msPerCallP50, 2), 14, true)}${pad(fmt(r.usPerHook), 10, true)}${pad(fmt(r.vsResumeHook, 2), 14, true)}`);
    }

    const allPass = Object.values(ratios).every((r) => r.pass);
    const out = {
      benchmark: 'resume',
      date: new Date().toISOString(),
      node: process.version,
      versions,
      redis: server ? { private: true, pid: server.pid, url: server.url } : { private: false },
      machine: { cpus: (await import('node:os')).cpus().length, platform: process.platform, arch: process.arch },
      params: PARAMS,
      notes: [
        'Latencies in µs. Sequential ops are interleaved call by call with a rotating order; the summary is the median over rounds.',
        "'resumeHook' resumes one hook of one run whose replay job stays waiting (no worker): BullMQ's de-duplication path.",
        "'resumeHook (new job)' resumes a different run per call with no pending replay job: the script creates a job.",
        "'store.resumeHook' is the Lua script alone (pre-serialised payload, pre-minted resume ids).",
      ],
      summary: Object.fromEntries(
        OPS.map((o) => [o, Object.fromEntries(Object.entries(summary[o]).map(([k, v]) => [k, round1(v)]))]),
      ),
      ratios,
      informational,
      pass: allPass,
      clientCpuUs: cpu,
      serverStats: server_,
      breakdown: breakdown_,
      fanOut: {
        resumeHookP50Us: round1(fanOut.resumeHookP50Us),
        rows: fanOut.rows.map((r) => ({ ...r, msPerCallP50: round3(r.msPerCallP50), usPerHook: round1(r.usPerHook), vsResumeHook: round3(r.vsResumeHook) })),
      },
      rounds: rounds.map((x) => ({
        round: x.round,
        concurrentOrder: x.concurrentOrder,
        sequential: Object.fromEntries(OPS.map((o) => [o, { p50: round1(x.sequential[o].p50), p99: round1(x.sequential[o].p99), mean: round1(x.sequential[o].mean), n: x.sequential[o].n }])),
        concurrent: Object.fromEntries(OPS.map((o) => [o, { opsPerSec: Math.round(x.concurrent[o].opsPerSec), elapsedMs: round1(x.concurrent[o].elapsedMs), p50: round1(x.concurrent[o].p50), p99: round1(x.concurrent[o].p99) }])),
      })),
    };
    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'resume.json'), JSON.stringify(out, null, 2) + '\n');
    console.log(`\n${allPass ? 'PASS' : 'FAIL'} — wrote bench-results/resume.json`);
    if (CHECK && !allPass) exitCode = 1;
  } catch (err) {
    console.error(err);
    exitCode = 1;
  } finally {
    if (fx) {
      await fx.queue.close().catch(() => {});
      if (!server) {
        // Shared Redis: remove what the benchmark wrote.
        const admin = fx.queueClient;
        await deleteMatching(admin, `{${prefix}}:*`).catch(() => {});
        await deleteMatching(admin, `${queuePrefix}:*`).catch(() => {});
      }
      fx.queueClient.disconnect();
      fx.pingClient.disconnect();
    }
    await closeWorkflowClient().catch(() => {});
    await server?.stop();
  }
  process.exitCode = exitCode;
}

await main();
