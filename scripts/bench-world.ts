/**
 * Benchmark (not a test): the official Workflow SDK runtime
 * (`workflow@5.0.0-beta.35`, as `@workflow/world-testing@5.0.0-beta.35` pins
 * it) on three Worlds, in one run, through the same workflows and the same
 * HTTP server:
 *
 * - `redis`: workflow-redis/world (this checkout's built `dist/world`, on a
 *   private redis-server, or REDIS_URL with DB 15 and a prefix of its own);
 * - `local`: `@workflow/world-local@5.0.0-beta.29` (files in a fresh temporary
 *   directory, in-process queue);
 * - `postgres`: `@workflow/world-postgres@5.0.0-beta.27` (graphile-worker), in
 *   a database `wfr_world_bench` created fresh for the run on the server of
 *   BENCH_POSTGRES_URL (default `postgres://postgres@127.0.0.1:5432/test`), when
 *   that server answers.
 *
 *   npm run bench:world                                    # every available world
 *   npm run bench:world -- --worlds local,postgres
 *   npm run bench:world -- --runs 20 --hook-runs 30 --burst 200 --concurrency 50 --burst-rounds 3 \
 *                          --step-runs-10 10 --step-runs-100 4
 *   npm run bench:world -- --no-world-timing               # the Worlds as they are, without the timing wrapper
 *
 * The workflows and the server are the suite's prebuilt ones
 * (`dist/.well-known/workflow/v1/flow.mjs`, `dist/src/server.mjs`: `POST
 * /invoke`, `POST /hooks/:token`, `GET /runs/:id`, `GET /runs/:id/readable`),
 * one server per world with `WORKFLOW_TARGET_WORLD` set, driven over HTTP.
 * Every World's server is started first and runs until the end; the rows are
 * interleaved across the Worlds (scripts/bench-world/rows.ts), so that the
 * machine's load, which changes from minute to minute, falls on every World
 * alike. The server has no completion push, so completion is observed by
 * polling `GET /runs/:id` (world.runs.get): every `--poll-ms` (default 5) for
 * the latency rows, every `--burst-poll-ms` (default 50) per run in flight for
 * the throughput row.
 *
 * Each World is loaded through a pass-through wrapper that times every async
 * World call (scripts/bench-world/world-timing.ts): the runtime re-evaluates
 * the workflow bundle in a `vm` on every replay, so end-to-end rows mostly
 * measure the runtime's CPU; the World-time rows show what the World itself
 * costs (time awaited in World calls, and their number, per run and per step).
 *
 * Rows:
 * - (a) `addition(i, 2)` (one step): POST /invoke → status completed, `--runs` runs per World.
 * - (b) `collectWithHook(token, 'bench')` (the suite's hooks workflow): once
 *   it has written `hookCreated` to its stream (GET /runs/:id/readable, read
 *   all along) and has been idle `--idle-ms`, POST /hooks/:token `{data,
 *   done: true}` → the workflow's `hookResumed` line with that payload arrives
 *   on the stream (written by a step right after the hook yields it), and →
 *   run completed (its output checked), `--hook-runs` runs per World.
 *   (The bundle's `hookWorkflow` calls `hook.next()`, which this runtime's
 *   hooks do not have: it fails with a TypeError on every world.)
 * - (c) `--burst` addition runs from `--concurrency` clients (each: invoke,
 *   wait for completed, next): runs/s and wall time, `--burst-rounds` rounds.
 * - (d) `signalCostWorkflow({ count, withSignal: false })` (count sequential
 *   one-line steps) for count 10 (`--step-runs-10` runs) and 100
 *   (`--step-runs-100`): run time / steps, CPU and World time per step.
 *
 * Prints a table with each world's figure and redis/other per row, and the
 * World time per step by method; writes bench-results/world.json.
 */
import { loadavg, cpus } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ensureInstalled, installedVersion, polyfillNodeOptions } from './world-conformance.js';
import { BENCH_DEPS, BENCH_DIR, PARAMS, worldsArg, type WorldName, type WorldResult } from './bench-world/common.js';
import { printTable, writeJson } from './bench-world/report.js';
import { rowA, rowB, rowC, rowD, warmUp } from './bench-world/rows.js';
import type { Hydrate } from './bench-world/server.js';
import { POSTGRES_ADMIN_URL, postgresReachable, startWorld, type LiveWorld } from './bench-world/worlds.js';

async function loadHydrate(): Promise<Hydrate | undefined> {
  try {
    const mod = (await import(pathToFileURL(join(BENCH_DIR, 'node_modules', '@workflow', 'core', 'dist', 'serialization.js')).href)) as {
      hydrateWorkflowReturnValue?: Hydrate;
    };
    return mod.hydrateWorkflowReturnValue;
  } catch {
    return undefined; // the hook row then checks completion only
  }
}

async function main(): Promise<void> {
  const { worlds: wanted, explicit } = worldsArg();
  const loadavgAtStart = loadavg();
  ensureInstalled(BENCH_DIR, 'wfr-world-bench', BENCH_DEPS);
  const nodeOptions = polyfillNodeOptions(BENCH_DIR);
  // The polyfill in this process too (the runtime's deserialiser may use it).
  await import(pathToFileURL(join(BENCH_DIR, 'with-resolvers.mjs')).href);
  const baseEnv: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: nodeOptions };
  delete baseEnv.WORKFLOW_TARGET_WORLD;
  const hydrate = await loadHydrate();

  const skipped: Record<string, string> = {};
  const worlds: WorldName[] = [];
  let postgresVersion: string | undefined;
  for (const w of wanted) {
    if (w === 'postgres') {
      postgresVersion = await postgresReachable();
      if (!postgresVersion) {
        skipped.postgres = `PostgreSQL not reachable at ${POSTGRES_ADMIN_URL.replace(/\/\/[^@]*@/, '//***@')} (set BENCH_POSTGRES_URL)`;
        if (explicit) throw new Error(skipped.postgres);
        continue;
      }
    }
    worlds.push(w);
  }
  const runtime = installedVersion(BENCH_DIR, 'workflow');
  console.log(
    `World benchmark: workflow@${runtime} runtime, the suite's server and workflows (@workflow/world-testing@${BENCH_DEPS['@workflow/world-testing']}), ` +
      `node ${process.version}, ${cpus().length} CPUs, load ${loadavgAtStart.map((x) => x.toFixed(1)).join(' ')}`,
  );
  console.log(`worlds: ${worlds.join(', ')}${Object.keys(skipped).length ? `; skipped: ${Object.entries(skipped).map(([k, v]) => `${k} (${v})`).join('; ')}` : ''}`);
  console.log(`params: ${JSON.stringify(PARAMS)}`);

  const results: WorldResult[] = [];
  const live: LiveWorld[] = [];
  let stopping: Promise<void> | undefined;
  const stopAll = () => (stopping ??= Promise.all(live.map((w) => w.stop().catch(() => {}))).then(() => {}));
  const onSignal = (sig: NodeJS.Signals) => {
    console.error(`${sig}: stopping the servers and stores`);
    void stopAll().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    for (const w of worlds) {
      const started = await startWorld(w, baseEnv);
      results.push(started.result);
      if (started.live) live.push(started.live);
    }
    if (live.length > 0) {
      await warmUp(live, hydrate);
      await rowA(live);
      await rowB(live, hydrate);
      await rowC(live);
      await rowD(live);
    }
  } finally {
    await stopAll();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }

  const ratios = printTable(results, skipped);
  const file = writeJson(results, ratios, {
    loadavgAtStart,
    worlds,
    skipped,
    versions: {
      workflow: runtime,
      worldTesting: installedVersion(BENCH_DIR, '@workflow/world-testing'),
      world: installedVersion(BENCH_DIR, '@workflow/world'),
      worldLocal: installedVersion(BENCH_DIR, '@workflow/world-local'),
      worldPostgres: installedVersion(BENCH_DIR, '@workflow/world-postgres'),
      postgresServer: postgresVersion,
    },
  });
  console.log(`\nwrote ${file}`);
  const failedExplicit = results.some((r) => r.error && (explicit || r.world !== 'redis'));
  if (failedExplicit) process.exitCode = 1;
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
