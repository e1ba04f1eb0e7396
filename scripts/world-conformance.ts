/**
 * The official Workflow SDK's World conformance suite
 * (`@workflow/world-testing@5.0.0-beta.35`, 12 vitest tests) against
 * `workflow-redis/world` (the built `dist/world/index.js`), or against
 * `@workflow/world-local` for comparison.
 *
 *   npm run test:world                        # our World, private redis-server from PATH
 *   npm run test:world -- --world local       # the same suite on world-local (checks the harness)
 *   npm run test:world -- --repeat 3          # three runs, each on a fresh (flushed) Redis
 *   REDIS_URL=redis://host:6379 npm run test:world   # an existing Redis: DB 15 (or the URL's), a prefix of its own
 *   npm run test:world -- -- -t addition      # arguments after a second `--` go to vitest
 *
 * What it does, in `.cache/world-conformance/` (git-ignored):
 * - installs the pinned suite and vitest there (reused while its package.json
 *   pins match and the installed versions are the pinned ones);
 * - writes `world.test.mjs` (`createTestSuite(process.env.WORLD_UNDER_TEST)`),
 *   `vitest.config.mjs`, a `Promise.withResolvers` polyfill (the suite's hooks
 *   test needs it, Node 22 has it natively) preloaded with NODE_OPTIONS into
 *   vitest and into every server the suite spawns, and `wfr-world.mjs`, which
 *   re-exports `createWorld` from this checkout's `dist/world/index.js`;
 * - builds the package first when `dist/world/index.js` is missing or older
 *   than a file under lib/;
 * - per repeat: a fresh private redis-server (or, with REDIS_URL, a dedicated
 *   DB index and a prefix of its own, whose keys are deleted before and after:
 *   the suite's tests count exact deliveries, so a previous run's delayed jobs
 *   must never reach the next one), then `npx vitest run` with
 *   `WORLD_UNDER_TEST=./wfr-world.mjs` and `WORKFLOW_REDIS_URL`.
 *
 * Prints vitest's own output, one summary line per repeat and a last line
 * `world conformance: P/T passed ×N` (.ci/run reads it). Exit code: vitest's
 * (non-zero when any repeat failed).
 *
 * This is a development helper, not part of the published package.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { launchRedis } from './redis-launcher.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** The pinned suite: the only published `@workflow/world-testing` of spec 5, and the vitest it was measured with. */
export const SUITE_DEPS = { '@workflow/world-testing': '5.0.0-beta.35', vitest: '4.1.12' } as const;

const CONFORMANCE_DIR = join(ROOT, '.cache', 'world-conformance');

// ---------------------------------------------------------------- shared with scripts/bench-world.ts

/** The installed version of `name` under `dir`, or undefined. */
export function installedVersion(dir: string, name: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(join(dir, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Makes `dir` a private npm project with exactly `deps` installed: reused when
 * its package.json pins the same versions and each is installed at that
 * version, `npm install` otherwise.
 */
export function ensureInstalled(dir: string, name: string, deps: Record<string, string>): void {
  mkdirSync(dir, { recursive: true });
  const pkgPath = join(dir, 'package.json');
  const wanted = { name, private: true, type: 'module', dependencies: deps };
  let current: { dependencies?: Record<string, string> } | undefined;
  try {
    current = JSON.parse(readFileSync(pkgPath, 'utf8'));
  } catch {
    current = undefined;
  }
  const pinsMatch =
    current?.dependencies !== undefined &&
    Object.keys(current.dependencies).length === Object.keys(deps).length &&
    Object.entries(deps).every(([n, v]) => current!.dependencies![n] === v);
  if (pinsMatch && Object.entries(deps).every(([n, v]) => installedVersion(dir, n) === v)) return;
  writeFileSync(pkgPath, JSON.stringify(wanted, null, 2) + '\n');
  console.log(`Installing ${Object.entries(deps).map(([n, v]) => `${n}@${v}`).join(', ')} into ${dir}`);
  const r = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`npm install in ${dir} failed (exit ${r.status ?? r.signal})`);
  for (const [n, v] of Object.entries(deps)) {
    const got = installedVersion(dir, n);
    if (got !== v) throw new Error(`${n}: installed ${got ?? 'nothing'}, pinned ${v}`);
  }
}

/**
 * Writes the `Promise.withResolvers` polyfill into `dir` and returns
 * NODE_OPTIONS that preload it (added to the current NODE_OPTIONS). The
 * suite's tests (and the runtime in the servers they spawn) call it; Node 20
 * lacks it.
 */
export function polyfillNodeOptions(dir: string): string {
  const file = join(dir, 'with-resolvers.mjs');
  writeFileSync(
    file,
    [
      '// Promise.withResolvers (Node 22) for Node 20: written by scripts/world-conformance.ts.',
      "if (typeof Promise.withResolvers !== 'function') {",
      '  Object.defineProperty(Promise, "withResolvers", {',
      '    configurable: true,',
      '    writable: true,',
      '    value: function withResolvers() {',
      '      let resolve, reject;',
      '      const promise = new this((res, rej) => { resolve = res; reject = rej; });',
      '      return { promise, resolve, reject };',
      '    },',
      '  });',
      '}',
      '',
    ].join('\n'),
  );
  const flag = `--import=${pathToFileURL(file).href}`;
  const existing = process.env.NODE_OPTIONS ?? '';
  return existing.includes(flag) ? existing : `${existing} ${flag}`.trim();
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return newest;
}

/** The built World of this checkout; runs `npm run build` when it is missing or older than lib/. Returns its absolute path. */
export function ensureWorldBuilt(): string {
  const built = join(ROOT, 'dist', 'world', 'index.js');
  const stale = !existsSync(built) || statSync(built).mtimeMs < newestMtime(join(ROOT, 'lib'));
  if (stale) {
    console.log(`${existsSync(built) ? 'dist/world is older than lib/' : 'dist/world/index.js is missing'}: npm run build`);
    const r = spawnSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`npm run build failed (exit ${r.status ?? r.signal})`);
    if (!existsSync(built)) throw new Error(`npm run build did not produce ${built}`);
  }
  return built;
}

/** Writes `<dir>/wfr-world.mjs` re-exporting createWorld from the built World; returns the `./` target the suite's server resolves against its cwd. */
export function writeRedisWorldModule(dir: string, builtWorld: string): string {
  writeFileSync(
    join(dir, 'wfr-world.mjs'),
    `// Written by scripts/world-conformance.ts: the World under test is this checkout's build.\n` +
      `export { createWorld } from ${JSON.stringify(pathToFileURL(builtWorld).href)};\n`,
  );
  return './wfr-world.mjs';
}

/** Deletes every key of `prefix` (the World's keys and its BullMQ queues all live under `{prefix}`). */
export async function deletePrefix(client: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let n = 0;
  do {
    const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length) n += await client.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

/** `url` with its DB index set to `db` unless the URL names one. */
export function withDb(url: string, db: number): { url: string; db: number } {
  const u = new URL(url);
  const named = /^\/(\d+)$/.exec(u.pathname);
  if (named) return { url, db: Number(named[1]) };
  u.pathname = `/${db}`;
  return { url: u.toString(), db };
}

// ---------------------------------------------------------------- the command

interface Options {
  world: 'redis' | 'local';
  repeat: number;
  db: number;
  timeoutS: number;
  vitestArgs: string[];
}

function usage(): never {
  console.error(
    'usage: world-conformance [--world redis|local] [--repeat N] [--db N (with REDIS_URL, default 15)] [--timeout SECONDS] [-- vitest args]',
  );
  process.exit(2);
}

function parseOptions(argv: string[]): Options {
  const o: Options = { world: 'redis', repeat: 1, db: 15, timeoutS: 600, vitestArgs: [] };
  const int = (v: string | undefined, name: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) {
      console.error(`--${name} must be an integer ≥ ${min}, got ${v}`);
      usage();
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      o.vitestArgs = argv.slice(i + 1);
      break;
    } else if (a === '--world') {
      const w = argv[++i];
      if (w !== 'redis' && w !== 'local') usage();
      o.world = w;
    } else if (a === '--repeat') o.repeat = int(argv[++i], 'repeat', 1);
    else if (a === '--db') o.db = int(argv[++i], 'db', 0);
    else if (a === '--timeout') o.timeoutS = int(argv[++i], 'timeout', 1);
    else if (a === '--help' || a === '-h') usage();
    else {
      console.error(`unknown option ${a}`);
      usage();
    }
  }
  return o;
}

interface VitestJson {
  numTotalTests: number;
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests?: number;
  numTodoTests?: number;
  testResults?: { assertionResults?: { title: string; status: string; duration?: number }[] }[];
}

interface RepeatResult {
  passed: number;
  failed: number;
  total: number;
  skipped: number;
  code: number;
  durationS: number;
  failedTitles: string[];
}

/** Runs `npx vitest run` in the cache folder (own process group, killed whole on timeout); resolves its exit code. */
function runVitest(env: NodeJS.ProcessEnv, args: string[], timeoutS: number): Promise<number> {
  return new Promise((resolveCode) => {
    const child = spawn('npx', ['vitest', 'run', ...args], { cwd: CONFORMANCE_DIR, env, stdio: 'inherit', detached: true });
    const killGroup = (sig: NodeJS.Signals) => {
      try {
        process.kill(-child.pid!, sig);
      } catch {
        // already gone
      }
    };
    const timer = setTimeout(() => {
      console.error(`vitest did not finish within ${timeoutS} s: killing it and the servers it started`);
      killGroup('SIGTERM');
      setTimeout(() => killGroup('SIGKILL'), 5000).unref();
    }, timeoutS * 1000);
    const onSignal = (sig: NodeJS.Signals) => {
      killGroup(sig);
      process.exit(130);
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      // The suite's servers are killed by vitest at each test's end; a killed vitest may leave some behind.
      killGroup('SIGKILL');
      resolveCode(code ?? (signal ? 128 : 1));
    });
  });
}

async function runOnce(o: Options, n: number, target: string, nodeOptions: string): Promise<RepeatResult> {
  const resultsFile = join(CONFORMANCE_DIR, `results-${n}.json`);
  rmSync(resultsFile, { force: true });
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_OPTIONS: nodeOptions, WORLD_UNDER_TEST: target };
  const cleanups: (() => Promise<void> | void)[] = [];
  try {
    if (o.world === 'local') {
      const dataDir = mkdtempSync(join(tmpdir(), 'wfr-world-local-'));
      env.WORKFLOW_LOCAL_DATA_DIR = dataDir;
      cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    } else if (process.env.REDIS_URL) {
      // An existing Redis: a dedicated DB and a prefix of this repeat only, deleted before and after.
      const { url, db } = withDb(process.env.REDIS_URL, o.db);
      const prefix = `wdkconf-${process.pid}-${n}`;
      const admin = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await admin.connect();
      await deletePrefix(admin, prefix);
      env.WORKFLOW_REDIS_URL = url;
      env.WORKFLOW_REDIS_PREFIX = prefix;
      console.log(`Redis ${new URL(url).host} DB ${db}, prefix ${prefix}`);
      cleanups.push(async () => {
        await deletePrefix(admin, prefix).catch(() => 0);
        admin.disconnect();
      });
    } else {
      // A fresh private server per repeat: nothing of an earlier run survives.
      const redis = await launchRedis({ quiet: true });
      env.WORKFLOW_REDIS_URL = redis.url;
      delete env.WORKFLOW_REDIS_PREFIX;
      console.log(`private redis-server on ${redis.url} (pid ${redis.pid})`);
      cleanups.push(() => redis.stop());
    }
    const t0 = Date.now();
    const code = await runVitest(env, [...o.vitestArgs, '--reporter=default', '--reporter=json', `--outputFile.json=${resultsFile}`], o.timeoutS);
    const durationS = (Date.now() - t0) / 1000;
    let json: VitestJson | undefined;
    try {
      json = JSON.parse(readFileSync(resultsFile, 'utf8')) as VitestJson;
    } catch {
      json = undefined;
    }
    if (!json) return { passed: 0, failed: 1, total: 1, skipped: 0, code: code || 1, durationS, failedTitles: ['(vitest wrote no results)'] };
    const failedTitles = (json.testResults ?? []).flatMap((f) => (f.assertionResults ?? []).filter((t) => t.status === 'failed').map((t) => t.title));
    const failed = json.numFailedTests || (code !== 0 ? 1 : 0);
    const skipped = (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
    return { passed: json.numPassedTests, failed, total: json.numPassedTests + failed, skipped, code, durationS, failedTitles };
  } finally {
    for (const c of cleanups.reverse()) await c();
  }
}

async function main(): Promise<void> {
  const o = parseOptions(process.argv.slice(2));
  ensureInstalled(CONFORMANCE_DIR, 'wfr-world-conformance', SUITE_DEPS);
  writeFileSync(
    join(CONFORMANCE_DIR, 'world.test.mjs'),
    [
      '// Written by scripts/world-conformance.ts: the package ships createTestSuite, not a test file.',
      "import { createTestSuite } from '@workflow/world-testing';",
      'const world = process.env.WORLD_UNDER_TEST;',
      "if (!world) throw new Error('WORLD_UNDER_TEST is not set');",
      'createTestSuite(world);',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(CONFORMANCE_DIR, 'vitest.config.mjs'),
    [
      '// Written by scripts/world-conformance.ts.',
      "import { defineConfig } from 'vitest/config';",
      "export default defineConfig({ test: { include: ['world.test.mjs'], fileParallelism: false, watch: false } });",
      '',
    ].join('\n'),
  );
  const nodeOptions = polyfillNodeOptions(CONFORMANCE_DIR);
  const target = o.world === 'local' ? 'local' : writeRedisWorldModule(CONFORMANCE_DIR, ensureWorldBuilt());
  const label = o.world === 'local' ? '@workflow/world-local' : 'workflow-redis/world';
  console.log(`World conformance: ${label} × ${o.repeat}, @workflow/world-testing@${SUITE_DEPS['@workflow/world-testing']}, vitest@${SUITE_DEPS.vitest}, node ${process.version}`);

  const results: RepeatResult[] = [];
  for (let n = 1; n <= o.repeat; n++) {
    if (o.repeat > 1) console.log(`\n=== repeat ${n}/${o.repeat} ===`);
    results.push(await runOnce(o, n, target, nodeOptions));
  }
  console.log('');
  results.forEach((r, i) => {
    const failed = r.failedTitles.length ? `; failed: ${r.failedTitles.join(', ')}` : '';
    const skipped = r.skipped ? ` (${r.skipped} skipped)` : '';
    console.log(`repeat ${i + 1}/${o.repeat}: ${r.passed}/${r.total} passed${skipped} in ${r.durationS.toFixed(1)} s (${label}, vitest exit ${r.code})${failed}`);
  });
  const passed = results.reduce((s, r) => s + r.passed, 0);
  const failed = results.reduce((s, r) => s + r.failed, 0);
  const allGreen = results.every((r) => r.code === 0 && r.failed === 0);
  const per = results[0]!.total;
  const line = allGreen
    ? `world conformance: ${per}/${per} passed ×${o.repeat}`
    : `world conformance: ${passed}/${passed + failed} passed over ${o.repeat} run${o.repeat > 1 ? 's' : ''}, ${failed} failed`;
  console.log(`${line} (${label}; passed=${passed} failed=${failed})`);
  process.exitCode = allGreen ? 0 : results.find((r) => r.code !== 0)?.code ?? 1;
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((err) => {
    console.error(err);
    console.log('world conformance: 0/1 passed ×1, 1 failed (harness error; passed=0 failed=1)');
    process.exitCode = 1;
  });
}
