/**
 * Benchmark (not a test): run streams — chunks written from one step with
 * getWritable() and delivered to a run.getReadable() reader, beside a plain
 * XADD + XREAD BLOCK loop on the same Redis (the floor).
 *
 *   npm run bench:streams                      # private redis-server from PATH
 *   REDIS_URL=redis://host:6379 npm run bench:streams
 *   npm run bench:streams -- --chunks 20000 --size 100 --rounds 3
 *
 * Everything runs in this process (an in-process worker), so write and read
 * times share one clock: each chunk carries performance.now() at write; the
 * reader takes the difference at delivery (write-to-read latency). Two modes:
 * - burst: the writer writes `--chunks` chunks as fast as it can (awaiting
 *   each write, the usual loop; the floor awaits each XADD): chunks/s from
 *   the first write to the last chunk read. Its latency is mostly the
 *   backlog of a reader slower than the writer, so it is not the latency row;
 * - paced: `--paced` chunks, one every `--interval` ms (below saturation):
 *   the write-to-read latency, p50 and p99.
 * Prints a table and writes bench-results/streams.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { defineStep, defineWorkflow, getWritable } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { createWorker } from 'workflow-redis/worker';
import { launchRedis, type LaunchedRedis } from './redis-launcher.js';
import { intArg } from './bench-args.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
process.env.WORKFLOW_REDIS_LOG_LEVEL ??= 'warn';

const arg = intArg;

const PARAMS = { chunks: arg('chunks', 10_000), size: arg('size', 100), rounds: arg('rounds', 3), paced: arg('paced', 1000), interval: arg('interval', 2) };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (msg: string) => process.stderr.write(`[bench] ${msg}\n`);

interface Result {
  chunksPerSec: number;
  p50Ms: number;
  p99Ms: number;
}

function summarise(lat: number[], ms: number): Result {
  const sorted = [...lat].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return { chunksPerSec: (lat.length / ms) * 1000, p50Ms: q(0.5), p99Ms: q(0.99) };
}

const writeTimed = defineStep('bench.streams.write', async (n: number, size: number, intervalMs: number) => {
  const w = getWritable<{ t: number; p: string }>().getWriter();
  const pad = 'x'.repeat(size);
  for (let i = 0; i < n; i++) {
    if (intervalMs > 0) await sleep(intervalMs);
    await w.write({ t: performance.now(), p: pad });
  }
  await w.close();
  return n;
});
const timedWriter = defineWorkflow('bench.streams.timed', async (n: number, size: number, intervalMs: number) => writeTimed(n, size, intervalMs));

/** The engine: a step writes n chunks; a reader opened before the run starts reads them live. */
async function engine(n: number, intervalMs: number): Promise<Result> {
  const run = await start(timedWriter, [n, PARAMS.size, intervalMs]);
  const lat: number[] = [];
  const reader = run.getReadable<{ t: number }>().getReader();
  let first = 0;
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    const now = performance.now();
    first ||= r.value.t;
    lat.push(now - r.value.t);
  }
  const total = performance.now() - first;
  await run.returnValue;
  if (lat.length !== n) throw new Error(`read ${lat.length} chunks, wrote ${n}`);
  return summarise(lat, total);
}

/** The floor: awaited XADDs on one connection, an XREAD BLOCK loop on another. */
async function floor(url: string, key: string, n: number, intervalMs: number): Promise<Result> {
  const writer = new Redis(url);
  const reader = new Redis(url);
  try {
    const pad = 'x'.repeat(PARAMS.size);
    const lat: number[] = [];
    let first = 0;
    const reading = (async () => {
      let last = '0-0';
      while (lat.length < n) {
        const reply = (await reader.xread('COUNT', 100, 'BLOCK', 5000, 'STREAMS', key, last)) as [string, [string, string[]][]][] | null;
        if (!reply) continue;
        const now = performance.now();
        for (const [id, fields] of reply[0]![1]) {
          const t = JSON.parse(fields[1]!).t as number;
          first ||= t;
          lat.push(now - t);
          last = id;
        }
      }
    })();
    for (let i = 0; i < n; i++) {
      if (intervalMs > 0) await sleep(intervalMs);
      await writer.xadd(key, '*', 'd', JSON.stringify({ t: performance.now(), p: pad }));
    }
    await reading;
    return summarise(lat, performance.now() - first);
  } finally {
    writer.disconnect();
    reader.disconnect();
  }
}

async function main() {
  let launched: LaunchedRedis | undefined;
  let url = process.env.REDIS_URL;
  if (!url) {
    launched = await launchRedis({ quiet: true });
    url = launched.url;
  }
  const prefix = `bench-streams-${Date.now()}`;
  configure({ connection: url, prefix });
  const worker = await createWorker({ workflows: [timedWriter], connection: url, prefix, logLevel: 'warn' });
  const rows: { round: number; engine: Result; floor: Result; enginePaced: Result; floorPaced: Result }[] = [];
  try {
    for (let round = 1; round <= PARAMS.rounds; round++) {
      const f = await floor(url, `${prefix}:floor:${round}`, PARAMS.chunks, 0);
      const e = await engine(PARAMS.chunks, 0);
      const fp = await floor(url, `${prefix}:floor-paced:${round}`, PARAMS.paced, PARAMS.interval);
      const ep = await engine(PARAMS.paced, PARAMS.interval);
      log(`round ${round}: burst engine ${e.chunksPerSec.toFixed(0)} / floor ${f.chunksPerSec.toFixed(0)} chunks/s; paced p50 engine ${ep.p50Ms.toFixed(2)} / floor ${fp.p50Ms.toFixed(2)} ms`);
      rows.push({ round, engine: e, floor: f, enginePaced: ep, floorPaced: fp });
    }
  } finally {
    await worker.close();
    await closeWorkflowClient();
    await launched?.stop();
  }
  const med = (pick: (r: (typeof rows)[number]) => number) => [...rows.map(pick)].sort((a, b) => a - b)[Math.floor(rows.length / 2)]!;
  const table = [
    `| streams, ${PARAMS.size} B chunks, one writer, one reader, median of ${PARAMS.rounds} rounds — node ${process.version}, ${cpus().length} CPUs | burst: chunks/s (${PARAMS.chunks}) | paced (${PARAMS.paced}, one per ${PARAMS.interval} ms): write→read p50 | p99 |`,
    '|---|---:|---:|---:|',
    `| getWritable() in a step → run.getReadable() (awaited writes, batched appends) | ${med((r) => r.engine.chunksPerSec).toFixed(0)} | ${med((r) => r.enginePaced.p50Ms).toFixed(2)} ms | ${med((r) => r.enginePaced.p99Ms).toFixed(2)} ms |`,
    `| floor: awaited XADD → XREAD BLOCK loop, same Redis | ${med((r) => r.floor.chunksPerSec).toFixed(0)} | ${med((r) => r.floorPaced.p50Ms).toFixed(2)} ms | ${med((r) => r.floorPaced.p99Ms).toFixed(2)} ms |`,
  ];
  console.log(table.join('\n'));
  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench-results', 'streams.json'), JSON.stringify({ params: PARAMS, node: process.version, rounds: rows }, null, 2) + '\n');
  log('wrote bench-results/streams.json');
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
