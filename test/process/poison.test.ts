/**
 * Poison payloads (issue 9) against a freshly started worker PROCESS: the
 * deepest payload the HTTP resume route accepts goes through a hook, into a
 * step and back out as the run's output; one level deeper (and 100,000
 * deeper) is a 400 that writes nothing; a step that nests it past the
 * engine's limit fails its run cleanly. The worker never crashes, and neither
 * its log lines nor the route's responses carry the token or the payload.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { expect } from 'chai';
import express from 'express';
import type { Redis } from 'ioredis';
import {
  configure,
  getHookByToken,
  MAX_PAYLOAD_DEPTH_LIMIT,
  start,
  WorkflowRunFailedError,
  type Run,
} from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { INTERNAL_MAX_DEPTH } from '../../lib/serialization/codec.js';
import { snapshotKeyspace } from '../foundation/helpers.js';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { processSuite, ROOT } from './_workers.js';
import { poisonDeepen, poisonEcho } from './fixtures/poison-workflows.js';

const POISON_WORKER = join(ROOT, 'test', 'process', 'fixtures', 'poison-worker.ts');

/** Marks every key and string of the payloads: none may show in a log line or a response. */
const MARKER = 'PAYLOADMARKER7F3';

/** A JSON payload exactly `depth` deep, objects and arrays alternating, marked throughout. */
function payload(depth: number): unknown {
  let v: unknown = { [`${MARKER}_leaf`]: `${MARKER}_value` };
  for (let i = 1; i < depth; i++) v = i % 2 ? [v, `${MARKER}_item`] : { [`${MARKER}_key`]: v, n: i };
  return v;
}

/** A worker process started from fixtures/poison-worker.ts, with all its output. */
interface PoisonWorker {
  proc: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

async function spawnWorker(env: Record<string, string>): Promise<PoisonWorker> {
  const proc = spawn(process.execPath, ['--import', 'tsx', POISON_WORKER], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let gone = false;
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<number | null>((resolve) => {
    proc.once('exit', (code) => {
      gone = true;
      resolve(code);
    });
  });
  await waitFor(
    () => {
      if (gone) throw new Error(`poison worker exited before ready:\n${out}`);
      return /^ready /m.test(out);
    },
    { timeoutMs: 30_000, what: 'the poison worker to print ready' },
  );
  return { proc, output: () => out, exited };
}

/**
 * Every key with its DUMP, but BullMQ's stalled-check stamp (an idle worker
 * rewrites it on a timer): equal snapshots mean the request wrote nothing.
 */
const snapshot = (client: Redis) => snapshotKeyspace(client, { skip: (key) => key.endsWith(':stalled-check') });

const same = (a: Map<string, string>, b: Map<string, string>) => a.size === b.size && [...a].every(([k, v]) => b.get(k) === v);

describe('process: poison payloads through the resume route and a worker process', function () {
  this.timeout(90_000);
  const suite = processSuite();
  let worker: PoisonWorker | undefined;
  let server: http.Server | undefined;
  let base = '';
  const routerLog: string[] = [];
  const tokens: string[] = [];

  before(async () => {
    const prefix = uniquePrefix('poison');
    // The edge at its largest setting. The worker process keeps its defaults: the engine's limit does not depend on them.
    configure({ connection: suite.redis.url, prefix, maxPayloadDepth: MAX_PAYLOAD_DEPTH_LIMIT });
    worker = await spawnWorker({ REDIS_URL: suite.redis.url, PREFIX: prefix });
    const app = express();
    app.use(workflowRouter({ logger: (level, msg, fields) => routerLog.push(JSON.stringify({ level, msg, ...fields })) }));
    server = http.createServer(app);
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    if (worker && worker.proc.exitCode === null) {
      worker.proc.kill('SIGKILL');
      await worker.exited;
    }
  });

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(`--- poison worker output:\n${worker?.output()}`);
  });

  /** A run started by `make(token)`, once its hook is live (the workflow has suspended on it). */
  async function runWaitingOnHook(make: (token: string) => Promise<Run<unknown>>): Promise<{ run: Run<unknown>; token: string }> {
    const token = `poison-TOKEN-${Math.random().toString(36).slice(2, 12)}`;
    tokens.push(token);
    const run = await make(token);
    await waitFor(() => getHookByToken(token).then(() => true), { what: 'the hook to be live' });
    return { run, token };
  }

  const resume = (body: string) => fetch(`${base}/hooks/resume`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  /** Waits until the keyspace stops changing (the worker is done with what it was doing). */
  async function quiet(): Promise<Map<string, string>> {
    let last = await snapshot(suite.probe);
    return waitFor(
      async () => {
        const now = await snapshot(suite.probe);
        const settled = same(last, now);
        last = now;
        return settled ? now : undefined;
      },
      { intervalMs: 100, what: 'the keyspace to settle' },
    ) as Promise<Map<string, string>>;
  }

  it(`the deepest payload the route accepts (${MAX_PAYLOAD_DEPTH_LIMIT}) goes into a step and comes back as the output`, async () => {
    const { run, token } = await runWaitingOnHook((t) => start(poisonEcho, [t]));
    const data = payload(MAX_PAYLOAD_DEPTH_LIMIT);
    const res = await resume(JSON.stringify({ token, data }));
    expect(res.status, await res.clone().text()).to.equal(200);
    expect(await res.json()).to.deep.equal({ runId: run.runId });
    expect(await run.returnValue).to.deep.equal({ echoed: { data } });
  });

  it('one level deeper, or 100,000 deeper, is a 400 that writes nothing; the run then completes', async () => {
    const { run, token } = await runWaitingOnHook((t) => start(poisonEcho, [t]));
    const bodies = [
      JSON.stringify({ token, data: payload(MAX_PAYLOAD_DEPTH_LIMIT + 1) }),
      `{"token":${JSON.stringify(token)},"data":${'['.repeat(100_000)}"${MARKER}"${']'.repeat(100_000)}}`,
    ];
    for (const body of bodies) {
      const before = await quiet();
      const res = await resume(body);
      const text = await res.text();
      expect(res.status, text).to.equal(400);
      expect(JSON.parse(text).error).to.include(`nested more than ${MAX_PAYLOAD_DEPTH_LIMIT} levels deep`);
      expect(text).to.not.include(token);
      expect(text).to.not.include(MARKER);
      const after = await snapshot(suite.probe);
      expect([...after.keys()].sort(), 'key names').to.deep.equal([...before.keys()].sort());
      for (const [key, dump] of before) expect(after.get(key), `contents of ${key}`).to.equal(dump);
    }
    expect((await run.events()).filter((e) => e.type === 'hook_received')).to.have.length(0);
    // The hook is still live and the worker still runs: a good payload completes the run.
    const res = await resume(JSON.stringify({ token, data: payload(3) }));
    expect(res.status).to.equal(200);
    expect(await run.returnValue).to.deep.equal({ echoed: { data: payload(3) } });
  });

  it("a step that nests the payload past the engine's limit fails its run cleanly; the worker goes on", async () => {
    const levels = INTERNAL_MAX_DEPTH - MAX_PAYLOAD_DEPTH_LIMIT + 1;
    const { run, token } = await runWaitingOnHook((t) => start(poisonDeepen, [t, levels]));
    expect((await resume(JSON.stringify({ token, data: payload(MAX_PAYLOAD_DEPTH_LIMIT) }))).status).to.equal(200);
    let failure: unknown;
    await run.returnValue.catch((err: unknown) => (failure = err));
    expect(failure).to.be.instanceOf(WorkflowRunFailedError);
    const err = failure as WorkflowRunFailedError;
    expect(err.error.message).to.include('Cannot serialise the result of step "poison.deepen"');
    expect(err.error.message).to.include(`nested more than ${INTERNAL_MAX_DEPTH} levels deep`);
    expect(err.error.message).to.not.include(MARKER);
    expect(err.error.message).to.not.include(token);
    // Same process, still serving runs.
    const next = await runWaitingOnHook((t) => start(poisonDeepen, [t, 1]));
    expect((await resume(JSON.stringify({ token: next.token, data: 'ok' }))).status).to.equal(200);
    expect(await next.run.returnValue).to.deep.equal({ POISONKEY: 'ok' });
    expect(worker!.proc.exitCode).to.equal(null);
  });

  it('no log line of the worker process or the router carries a token or the payload; the worker drains and exits 0', async () => {
    worker!.proc.kill('SIGTERM');
    expect(await worker!.exited).to.equal(0);
    const output = worker!.output();
    expect(output).to.match(/^closed$/m);
    // The failed step of the previous test was logged: the lines checked below are the worker's real log.
    expect(output).to.match(/"level":"warn"/);
    expect(output).to.not.match(/RangeError|Maximum call stack/);
    for (const text of [output, ...routerLog]) {
      expect(text).to.not.include(MARKER);
      expect(text).to.not.include('POISONKEY');
      for (const token of tokens) expect(text).to.not.include(token);
    }
    expect(tokens).to.have.length(4);
  });
});
