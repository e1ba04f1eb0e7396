/**
 * The demo (`npm start`: scripts/demo.ts under tsx) as a process: a busy port
 * and an unreachable Redis fail fast with one clear line and exit code 1,
 * before anything is started; with DEMO_WORKER=0 it serves without a worker.
 */
import { expect } from 'chai';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, startRedis, type TestRedis } from '../helpers/redis.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface DemoRun {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from spawn to exit. */
  ms: number;
  /** ms from the "Checking Redis" line to exit, when it was printed. */
  msAfterCheck?: number;
}

interface Demo {
  /** Resolves when the process exits (killed with SIGKILL after `timeoutMs`). */
  exited: Promise<DemoRun>;
  /** Resolves with stdout once it contains `text`. */
  printed(text: string): Promise<string>;
  kill(signal: NodeJS.Signals): void;
}

/** Runs the demo from its sources under tsx (what `npm start` does), or a compiled `entry` under plain node. */
function demo(env: Record<string, string | undefined>, timeoutMs = 30_000, entry?: string): Demo {
  const started = Date.now();
  const args = entry ? [entry] : ['--import', 'tsx', 'scripts/demo.ts'];
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, REDIS_URL: undefined, PUBLIC_URL: undefined, DEMO_WORKER: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  let checkedAt: number | undefined;
  const waiters: (() => void)[] = [];
  child.stdout.on('data', (c: Buffer) => {
    stdout += c.toString();
    if (checkedAt === undefined && stdout.includes('Checking Redis at')) checkedAt = Date.now();
    for (const w of waiters) w();
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const exited = new Promise<DemoRun>((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      const now = Date.now();
      resolve({ code, stdout, stderr, ms: now - started, msAfterCheck: checkedAt === undefined ? undefined : now - checkedAt });
    });
  });
  return {
    exited,
    kill: (signal) => child.kill(signal),
    printed: (text) =>
      new Promise((resolve, reject) => {
        const check = () => stdout.includes(text) && resolve(stdout);
        waiters.push(check);
        check();
        void exited.then((r) => reject(new Error(`the demo exited (${r.code}) before printing ${JSON.stringify(text)}:\n${r.stdout}\n${r.stderr}`)));
      }),
  };
}

const listen = (server: Server, port = 0, host?: string) =>
  new Promise<number>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve((server.address() as { port: number }).port));
  });

describe('demo: start-up failures and the DEMO_WORKER switch (process)', function () {
  this.timeout(90_000);
  let redis: TestRedis;
  let dataDir: string;
  before(async () => {
    redis = await startRedis();
  });
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wfr-demo-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));
  after(async () => {
    await redis?.stop();
  });

  it('refuses a busy port with one clear line and exit code 1, before it touches Redis', async () => {
    const holder = createServer();
    const port = await listen(holder);
    try {
      for (const env of [{ REDIS_URL: redis.url }, { DEMO_DATA_DIR: join(dataDir, 'redis'), DEMO_REDIS_PORT: String(await freePort()) }]) {
        const run = await demo({ PORT: String(port), ...env }).exited;
        expect(run.code, run.stderr).to.equal(1);
        expect(run.stderr.trim()).to.equal(`Port ${port} is already in use (another demo or app?). Stop it, or choose another port: PORT=${port + 1} npm start`);
        expect(run.stdout, 'nothing was started').to.equal('');
      }
      expect(existsSync(join(dataDir, 'redis')), 'no redis-server was launched').to.equal(false);
    } finally {
      holder.close();
    }
  });

  it('an unreachable REDIS_URL (refused, or a server that never answers) fails within 5 s with one line naming it', async () => {
    const silent = createServer(() => undefined); // accepts connections, never answers
    const silentPort = await listen(silent, 0, '127.0.0.1');
    try {
      const refused = `redis://127.0.0.1:${await freePort()}`;
      for (const [url, reason] of [[refused, /ECONNREFUSED/], [`redis://127.0.0.1:${silentPort}`, /no answer/]] as const) {
        const run = await demo({ PORT: '0', REDIS_URL: url, DEMO_DATA_DIR: dataDir }).exited;
        expect(run.code, run.stderr).to.equal(1);
        expect(run.msAfterCheck, 'from the check to exit').to.be.a('number').below(5000);
        const lines = run.stderr.trim().split('\n');
        expect(lines, 'one line, no stack').to.have.length(1);
        const [, said] = /^Cannot reach Redis at (?:\S+) \((.+)\)\. Start that Redis or fix REDIS_URL; without REDIS_URL the demo starts its own redis-server\.$/.exec(lines[0]!) ?? [];
        expect(lines[0], 'names the address').to.include(`Cannot reach Redis at ${url} (`);
        expect(said, lines[0]).to.match(reason);
      }
      expect(readdirSync(dataDir), 'no redis-server was launched').to.deep.equal([]);
    } finally {
      silent.close();
    }
  });

  it('DEMO_WORKER=0 serves the app without a worker; PUBLIC_URL follows the port; SIGTERM stops it (exit 0)', async () => {
    const port = await freePort();
    const d = demo({ PORT: String(port), REDIS_URL: redis.url, DEMO_WORKER: '0' });
    const out = await d.printed('Press Ctrl+C to stop.');
    expect(out).to.include(`App:        http://localhost:${port}/`).and.include('worker: none here (DEMO_WORKER=0)');
    expect(out).to.include(`curl -s -X POST http://localhost:${port}/hooks/resume`);
    const home = await fetch(`http://127.0.0.1:${port}/`);
    expect(home.status).to.equal(200);
    await home.body?.cancel();
    d.kill('SIGTERM');
    const run = await d.exited;
    expect(run.code, run.stderr).to.equal(0);
  });

  it('rejects a malformed DEMO_WORKER or PORT with one line', async () => {
    const worker = await demo({ PORT: '0', REDIS_URL: redis.url, DEMO_WORKER: 'maybe' }).exited;
    expect(worker.code).to.equal(1);
    expect(worker.stderr.trim()).to.equal('DEMO_WORKER="maybe": use 1 (on) or 0 (off).');
    const port = await demo({ PORT: '70000', REDIS_URL: redis.url }).exited;
    expect(port.code).to.equal(1);
    expect(port.stderr.trim()).to.equal('PORT="70000" is not a TCP port: use a number from 0 to 65535.');
  });

  it('compiled as the Docker build stage does, it runs under plain node against dist/ (no tsx)', async function () {
    if (!existsSync(join(ROOT, 'dist', 'api.js'))) this.skip(); // npm test builds dist/ first (pretest)
    const run = /npx tsc (scripts\/demo\.ts .*)$/m.exec(read('Dockerfile').replace(/\\\n/g, ' '))?.[1];
    expect(run, 'the demo compile command of the Dockerfile').to.be.a('string');
    mkdirSync(join(ROOT, 'tmp'), { recursive: true });
    const out = mkdtempSync(join(ROOT, 'tmp', 'dist-demo-'));
    try {
      const args = run!.trim().split(/\s+/).map((a) => (a === 'dist-demo' ? out : a));
      const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
      await new Promise<void>((resolve, reject) =>
        execFile(process.execPath, [tsc, ...args], { cwd: ROOT }, (err, stdout) => (err ? reject(new Error(`${err.message}\n${stdout}`)) : resolve())),
      );
      expect(existsSync(join(out, 'demo', 'workflows.js')), 'the workers import it').to.equal(true);
      const holder = createServer();
      const port = await listen(holder);
      try {
        const busy = await demo({ PORT: String(port), REDIS_URL: redis.url }, 30_000, join(out, 'demo.js')).exited;
        expect(busy.code, busy.stderr).to.equal(1);
        expect(busy.stderr).to.include(`Port ${port} is already in use`);
      } finally {
        holder.close();
      }
      const d = demo({ PORT: '0', REDIS_URL: redis.url, DEMO_WORKER: '0' }, 30_000, join(out, 'demo.js'));
      expect(await d.printed('Press Ctrl+C to stop.')).to.include('CLI:        REDIS_URL=').and.include('node dist/cli/main.js runs list');
      d.kill('SIGTERM');
      const stopped = await d.exited;
      expect(stopped.code, `${stopped.ms} ms\n${stopped.stdout}\n${stopped.stderr}`).to.equal(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
