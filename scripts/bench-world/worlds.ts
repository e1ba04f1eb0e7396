/**
 * scripts/bench-world.ts: each World's store (fresh for the run), the module
 * the suite's server loads for it (the timing wrapper by default), and its
 * running server: `startWorld` brings one up, `LiveWorld.stop` takes down
 * everything it started.
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { launchRedis } from '../redis-launcher.js';
import { deletePrefix, ensureWorldBuilt, installedVersion, ROOT, withDb, writeRedisWorldModule } from '../world-conformance.js';
import { BENCH_DIR, PACKAGE, PARAMS, type WorldName, type WorldResult } from './common.js';
import { Client, startServer, type Server } from './server.js';
import { StatsClient, writeTimedWorldModule } from './world-timing.js';

export const POSTGRES_ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const POSTGRES_DB = 'wfr_world_bench';

interface Prepared {
  /** The World module: a package name or a file URL. */
  specifier: string;
  /** WORKFLOW_TARGET_WORLD without the timing wrapper. */
  plainTarget: string;
  env: NodeJS.ProcessEnv;
  describe: string;
  /** The private redis-server's pid (its CPU per run is reported too). */
  storePid?: number;
  cleanup(): Promise<void>;
}

/** Loads `pg` from the bench's install (it is world-postgres's dependency, not ours). */
function loadPg(): { Client: new (o: { connectionString: string; connectionTimeoutMillis?: number }) => PgClient } {
  return createRequire(join(BENCH_DIR, 'package.json'))('pg');
}
interface PgClient {
  connect(): Promise<void>;
  query(sql: string): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}

export async function postgresReachable(): Promise<string | undefined> {
  const { Client: PgClientCtor } = loadPg();
  const c = new PgClientCtor({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    const { rows } = await c.query('show server_version');
    return String(rows[0]?.server_version ?? 'unknown');
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => {});
  }
}

async function pgAdmin(sql: string): Promise<void> {
  const { Client: PgClientCtor } = loadPg();
  const c = new PgClientCtor({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end().catch(() => {});
  }
}

async function prepare(world: WorldName, baseEnv: NodeJS.ProcessEnv): Promise<Prepared> {
  const env: NodeJS.ProcessEnv = { ...baseEnv };
  if (world === 'local') {
    const dataDir = mkdtempSync(join(tmpdir(), 'wfr-bench-world-local-'));
    env.WORKFLOW_LOCAL_DATA_DIR = dataDir;
    return {
      specifier: '@workflow/world-local',
      plainTarget: 'local',
      env,
      describe: `data dir ${dataDir}`,
      cleanup: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  if (world === 'postgres') {
    const url = new URL(POSTGRES_ADMIN_URL);
    url.pathname = `/${POSTGRES_DB}`;
    await pgAdmin(`DROP DATABASE IF EXISTS ${POSTGRES_DB} WITH (FORCE)`);
    await pgAdmin(`CREATE DATABASE ${POSTGRES_DB}`);
    const cleanup = () => pgAdmin(`DROP DATABASE IF EXISTS ${POSTGRES_DB} WITH (FORCE)`).catch(() => {});
    env.WORKFLOW_POSTGRES_URL = url.toString();
    // The package's own setup: drizzle migrations + graphile-worker's schema.
    const setup = spawnSync(process.execPath, [join(BENCH_DIR, 'node_modules', '@workflow', 'world-postgres', 'bin', 'setup.js')], {
      cwd: BENCH_DIR,
      env,
      encoding: 'utf8',
    });
    if (setup.status !== 0) {
      await cleanup();
      throw new Error(`world-postgres setup failed:\n${setup.stdout}\n${setup.stderr}`);
    }
    return {
      specifier: '@workflow/world-postgres',
      plainTarget: '@workflow/world-postgres',
      env,
      describe: `database ${POSTGRES_DB} on ${url.host} (fresh, migrated by the package's bin/setup.js)`,
      cleanup,
    };
  }
  // redis
  const built = ensureWorldBuilt();
  const specifier = pathToFileURL(built).href;
  const plainTarget = writeRedisWorldModule(BENCH_DIR, built);
  if (process.env.REDIS_URL) {
    const { url, db } = withDb(process.env.REDIS_URL, 15);
    const prefix = `wdkbench-${process.pid}`;
    const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    await admin.connect();
    await deletePrefix(admin, prefix);
    env.WORKFLOW_REDIS_URL = url;
    env.WORKFLOW_REDIS_PREFIX = prefix;
    return {
      specifier,
      plainTarget,
      env,
      describe: `REDIS_URL ${new URL(url).host} DB ${db}, prefix ${prefix}`,
      cleanup: async () => {
        await deletePrefix(admin, prefix).catch(() => 0);
        admin.disconnect();
      },
    };
  }
  const redis = await launchRedis({ quiet: true });
  env.WORKFLOW_REDIS_URL = redis.url;
  delete env.WORKFLOW_REDIS_PREFIX;
  return { specifier, plainTarget, env, describe: `private redis-server ${redis.url} (pid ${redis.pid})`, storePid: redis.pid, cleanup: () => redis.stop() };
}

/** A World with its server up, and where its results go. */
export interface LiveWorld {
  name: WorldName;
  result: WorldResult;
  server: Server;
  client: Client;
  /** The World-timing wrapper's counters (undefined with --no-world-timing). */
  stats?: StatsClient;
  storePid?: number;
  /** Set when a row failed on this World: it takes no further part. */
  failed: boolean;
  stop(): Promise<void>;
}

export function worldVersion(world: WorldName): string {
  return world === 'redis'
    ? (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version
    : (installedVersion(BENCH_DIR, PACKAGE[world]) ?? 'unknown');
}

/**
 * Prepares `world`'s store and starts its server. On failure everything
 * started is stopped again, and only `result` (with `error`) is returned.
 */
export async function startWorld(world: WorldName, baseEnv: NodeJS.ProcessEnv): Promise<{ live?: LiveWorld; result: WorldResult }> {
  const result: WorldResult = { world, package: PACKAGE[world], version: worldVersion(world), setup: '' };
  let prepared: Prepared | undefined;
  let server: Server | undefined;
  const statsFile = join(BENCH_DIR, `wfr-timed-${world}.${process.pid}.port.json`);
  rmSync(statsFile, { force: true });
  const stop = async () => {
    await server?.stop();
    await prepared?.cleanup();
    rmSync(statsFile, { force: true });
  };
  try {
    prepared = await prepare(world, baseEnv);
    result.setup = prepared.describe;
    console.log(`[${world}] ${PACKAGE[world]}@${result.version}: ${prepared.describe}`);
    const timing = PARAMS.worldTiming === 1;
    const target = timing ? writeTimedWorldModule(world, prepared.specifier) : prepared.plainTarget;
    const env = timing ? { ...prepared.env, WFR_BENCH_WORLD_STATS_FILE: statsFile } : prepared.env;
    server = await startServer(target, env);
    let stats: StatsClient | undefined;
    if (timing) {
      stats = new StatsClient(statsFile);
      await stats.ready();
    }
    const live: LiveWorld = { name: world, result, server, client: new Client(server.base), stats, storePid: prepared.storePid, failed: false, stop };
    return { live, result };
  } catch (err) {
    result.error = (err as Error).message;
    console.error(`[${world}] failed to start: ${result.error}`);
    await stop();
    return { result };
  }
}
