/**
 * The package as a user gets it: `npm pack` (prepack: clean build), then a
 * fresh consumer project outside the repository installs the tarball from the
 * registry's point of view (no links), and from there imports and requires
 * every subpath, runs the CLI, type-checks ESM, CommonJS and bundler
 * consumers, and runs a workflow end to end against a private Redis.
 * Slow (a minute or two: a build and an npm install); nothing is cached.
 */
import { expect } from 'chai';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { cleanNpmEnv, exec, execOk } from './_exec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const SUBPATHS = ['workflow-redis', 'workflow-redis/api', 'workflow-redis/worker', 'workflow-redis/express', 'workflow-redis/nest'];
const REGISTRY_HINT = 'Is the npm registry reachable (this test installs the tarball and its dependencies into a fresh project)?';

interface PackedFile {
  path: string;
}

/** Every string in an exports map / typesVersions value. */
function targets(v: unknown): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.flatMap(targets);
  if (v && typeof v === 'object') return Object.values(v).flatMap(targets);
  return [];
}

/** The README's main example (the first ts block after its heading). */
function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const at = readme.indexOf('## A workflow, a route and a worker');
  const block = /```ts\n([\s\S]*?)```/.exec(readme.slice(at));
  if (at < 0 || !block) throw new Error('README.md: the main example was not found');
  return block[1];
}

describe('the packed package in a fresh consumer project', function () {
  this.timeout(120_000);
  let tmp: string;
  let app: string;
  let files: string[];
  let redis: TestRedis;
  const env = cleanNpmEnv();
  const node = (script: string, extra: NodeJS.ProcessEnv = {}, timeoutMs = 60_000) =>
    exec(process.execPath, [script], { cwd: app, env: { ...env, ...extra }, timeoutMs, label: `node ${script}` });
  const tsc = (args: string[]) =>
    exec(process.execPath, [join(app, 'node_modules/typescript/bin/tsc'), '--strict', '--noEmit', '--target', 'es2022', '--types', 'node', ...args], {
      cwd: app,
      env,
      timeoutMs: 120_000,
      label: `tsc ${args.join(' ')}`,
    });

  before(async function () {
    this.timeout(10 * 60_000);
    tmp = mkdtempSync(join(tmpdir(), 'wfr-consumer-'));
    app = join(tmp, 'app');
    const packed = await execOk('npm', ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT, env, timeoutMs: 5 * 60_000, label: 'npm pack' });
    // npm pack prints the prepack build's output too; the JSON report is the last thing on stdout.
    const report = JSON.parse(packed.stdout.slice(packed.stdout.lastIndexOf('\n[\n') + 1)) as Array<{ filename: string; files: PackedFile[] }>;
    files = report[0].files.map((f) => f.path).sort();
    const tarball = join(tmp, report[0].filename);

    const dev = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> }).devDependencies;
    const extras = ['typescript', '@types/node', 'express', '@types/express', '@nestjs/common', 'reflect-metadata', 'rxjs'].map((p) => `${p}@${dev[p]}`);
    mkdirSync(app);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'wfr-consumer', version: '0.0.0', private: true }, null, 2));
    // Fail in seconds, not after npm's retries, when the registry is unreachable.
    await execOk('npm', ['ping', '--fetch-retries=0', '--fetch-timeout=20000'], { cwd: app, env, timeoutMs: 45_000, label: 'npm ping', hint: REGISTRY_HINT });
    await execOk(
      'npm',
      ['install', tarball, ...extras, '--no-audit', '--no-fund', '--prefer-offline', '--fetch-retries=1', '--fetch-retry-maxtimeout=10000', '--fetch-timeout=60000', '--loglevel=warn'],
      { cwd: app, env, timeoutMs: 6 * 60_000, label: 'npm install (consumer project)', hint: REGISTRY_HINT },
    );
    for (const f of readdirSync(FIXTURES)) copyFileSync(join(FIXTURES, f), join(app, f));
    redis = await startRedis();
  });

  after(async function () {
    await redis?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('ships dist (JavaScript, .d.ts, .d.cts, Lua), LICENSE, README and docs, and nothing else', function () {
    const outside = files.filter((f) => !f.startsWith('dist/') && !/^docs\/[^/]+\.md$/.test(f) && !['LICENSE', 'README.md', 'package.json'].includes(f));
    expect(outside, 'files outside dist/, docs/*.md, LICENSE, README.md').to.deep.equal([]);
    for (const f of ['LICENSE', 'README.md', 'docs/PACKAGING.md', 'dist/index.js', 'dist/api.d.cts', 'dist/cli/main.js', 'dist/redis/lua/resumeHook.lua']) {
      expect(files, f).to.include(f);
    }
    expect(files.filter((f) => /\.test\.|\.ts$/.test(f) && !/\.d\.c?ts$/.test(f)), 'TypeScript sources or tests').to.deep.equal([]);
    expect(readFileSync(join(app, 'node_modules/workflow-redis/LICENSE'), 'utf8')).to.match(/^MIT License\n\nCopyright \(c\) 2026 workflow-redis contributors/);
  });

  it('points exports, main, types, typesVersions and bin only at files in the tarball', function () {
    const pkg = JSON.parse(readFileSync(join(app, 'node_modules/workflow-redis/package.json'), 'utf8'));
    const pointed = [...targets(pkg.exports), pkg.main, pkg.types, ...targets(pkg.typesVersions), ...targets(pkg.bin)].map((p: string) => p.replace(/^\.\//, ''));
    expect(pointed.length).to.be.greaterThan(30);
    expect(pointed.filter((p) => !files.includes(p))).to.deep.equal([]);
    expect(JSON.stringify(pkg.exports)).not.to.include('workflow-redis-source');
    for (const sub of Object.keys(pkg.exports).filter((k) => k !== './package.json')) {
      expect(Object.keys(pkg.exports[sub]), sub).to.deep.equal(['import', 'require', 'default']);
    }
  });

  it('ships source maps that carry their sources (lib/ is not shipped)', function () {
    const maps = files.filter((f) => f.endsWith('.js.map'));
    expect(maps.length).to.be.greaterThan(50);
    for (const m of maps) {
      const map = JSON.parse(readFileSync(join(app, 'node_modules/workflow-redis', m), 'utf8')) as { sources: string[]; sourcesContent?: string[] };
      expect(map.sourcesContent?.length, m).to.equal(map.sources.length);
    }
  });

  it('imports every subpath as ESM and requires it from CommonJS, with the same exports and no warning', async function () {
    const esm = await node('import-all.mjs');
    const cjs = await node('require-all.cjs');
    for (const r of [esm, cjs]) {
      expect(r.stderr, 'stderr (warnings)').to.equal('');
      expect(r.code).to.equal(0);
    }
    const names = JSON.parse(esm.stdout) as Record<string, string[]>;
    expect(Object.keys(names)).to.deep.equal(SUBPATHS);
    expect(names['workflow-redis/api']).to.include.members(['configure', 'resumeHook', 'start', 'getRun', 'HookNotFoundError']);
    expect(names['workflow-redis/worker']).to.include('createWorker');
    expect(names['workflow-redis/nest']).to.include('WorkflowModule');
    expect(JSON.parse(cjs.stdout)).to.deep.equal(names);
  });

  it('gives one module instance to import() and require() in one process', async function () {
    const r = await node('same-instance.mjs', { REDIS_URL: redis.url, WF_PREFIX: uniquePrefix('same') });
    expect(r.stderr).to.equal('');
    expect(r.stdout.trim()).to.equal('same instance');
    expect(r.code).to.equal(0);
  });

  it('runs the CLI: npx workflow-redis --help', async function () {
    const r = await execOk('npx', ['--no', '--', 'workflow-redis', '--help'], { cwd: app, env, timeoutMs: 60_000, label: 'npx workflow-redis --help' });
    expect(r.stdout).to.match(/^Usage: workflow-redis /);
    expect(r.stdout).to.include('worker');
  });

  it('type-checks the README example and the reference page examples as ESM (nodenext)', async function () {
    writeFileSync(join(app, 'readme-example.mts'), readmeExample());
    const seeds = ['basic-api-route', 'with-type-safety', 'webhook-handler'].map((name) => {
      // The repo's copies are @ts-nocheck (no DOM lib there); here they are checked, with the DOM lib the page assumes.
      const text = readFileSync(join(ROOT, 'test/foundation/seed-examples', `${name}.ts`), 'utf8').replace(/^\/\/ @ts-nocheck.*\n/, '');
      expect(text).to.include('from "workflow-redis/api"');
      writeFileSync(join(app, `seed-${name}.mts`), text);
      return `seed-${name}.mts`;
    });
    const r = await tsc(['--module', 'nodenext', '--moduleResolution', 'nodenext', '--lib', 'es2023,dom', 'readme-example.mts', ...seeds]);
    expect(r.stdout + r.stderr).to.equal('');
    expect(r.code).to.equal(0);
  });

  for (const [module, resolution, files] of [
    ['node16', 'node16', ['cjs-consumer.ts']],
    ['nodenext', 'nodenext', ['cjs-consumer.ts', 'cjs-nest.ts']],
    ['commonjs', 'node10', ['cjs-consumer.ts', 'cjs-nest.ts']],
  ] as const) {
    it(`type-checks a CommonJS consumer: module ${module}, moduleResolution ${resolution}`, async function () {
      const r = await tsc(['--module', module, '--moduleResolution', resolution, '--esModuleInterop', ...files]);
      expect(r.stdout + r.stderr).to.equal('');
      expect(r.code).to.equal(0);
    });
  }

  it('type-checks a consumer with moduleResolution bundler', async function () {
    const r = await tsc(['--module', 'preserve', '--moduleResolution', 'bundler', 'bundler-consumer.ts']);
    expect(r.stdout + r.stderr).to.equal('');
    expect(r.code).to.equal(0);
  });

  for (const script of ['e2e.mjs', 'e2e.cjs']) {
    it(`runs a workflow with a step and a hook end to end (${script})`, async function () {
      const r = await node(script, { REDIS_URL: redis.url, WF_PREFIX: uniquePrefix('consumer') });
      expect(r.code, r.stderr).to.equal(0);
      expect(JSON.parse(r.stdout).value).to.equal(script.endsWith('.mjs') ? 42 : 63);
    });
  }
});
