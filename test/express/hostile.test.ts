/**
 * workflow-redis/express under hostile HTTP (issue 9): a seeded, generated
 * corpus of a few thousand invalid requests (see _hostile-corpus.ts) against
 * every route, on a router with operator routes behind an auth middleware
 * and on one without auth (closed by default), plus malformed HTTP on raw
 * sockets. Asserts: no 5xx, ever; the certain statuses (400 for an
 * undecodable token, 405 for TRACE on the webhook route); the operator
 * routes answer 401/403 without credentials and leak nothing; the servers
 * stay up; Redis is unchanged (DEBUG DIGEST before and after, with live
 * runs, hooks and webhooks that the corpus aims at); and no line the
 * routers log holds a token, a payload or a payload key name.
 *
 * Reproduce a failure with HOSTILE_SEED=<seed> (printed on failure).
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { Redis } from 'ioredis';
import { createHook, createWebhook, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, start, type Run } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { createWorker } from 'workflow-redis/worker';
import { settledStore, snapshotKeyspace } from '../foundation/helpers.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { buildCorpus, KEY_MARKER, PAYLOAD_MARKER, type HostileCase, type Targets } from './_hostile-corpus.js';
import { rawRequest, serve, type RawResponse, type Served } from './_util.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261202);
/** Random cases on top of the systematic ones (about 3 000). */
const RANDOM = 1500;
const OPERATOR = { 'x-operator': 'letmein' };
const NEED_AUTH = 'workflowRouter: operator routes need an auth middleware: pass workflowRouter({ auth }) or unsafeNoAuth: true';

const plain = defineWorkflow('hostile.plain', async (id: string) => {
  await createHook<unknown>({ token: `tok-marker-live-${id}` });
  return 'resumed';
});
const webhooks = defineWorkflow('hostile.webhooks', async () => {
  const a = createWebhook();
  const b = createWebhook({ respondWith: 'manual' });
  const c = createWebhook({ respondWith: new Response('static') });
  await a;
  await b;
  await c;
  return 'resumed';
});
const done = defineWorkflow('hostile.done', async () => ({ [KEY_MARKER]: PAYLOAD_MARKER }));
const failing = defineWorkflow('hostile.failing', async () => {
  throw new Error(`boom ${PAYLOAD_MARKER}`);
});

const operatorAuth: RequestHandler = (req, res, next) => {
  if (req.get('x-operator') === 'letmein') return next();
  res.status(401).json({ error: 'Unauthorized' });
};

/** Tokens of a run's hooks, once `n` exist. */
async function tokensOf(run: Run<unknown>, n: number): Promise<string[]> {
  return (await waitFor(
    async () => {
      const created = (await run.events()).filter((e) => e.type === 'hook_created');
      return created.length >= n ? created.map((e) => (e.data as { token: string }).token) : undefined;
    },
    { what: `${n} hooks` },
  )) as string[];
}

/** DEBUG DIGEST of the whole server; a DUMP of every key when the debug command is off (REDIS_URL). */
async function digest(admin: Redis): Promise<string> {
  try {
    return String(await admin.call('DEBUG', 'DIGEST'));
  } catch {
    const snap = [...(await snapshotKeyspace(admin)).entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    return createHash('sha256').update(JSON.stringify(snap)).digest('hex');
  }
}

/** Sends every case (a few at a time) and returns the answers, in case order. */
async function send(base: string, cases: HostileCase[], concurrency = 8): Promise<RawResponse[]> {
  const out: RawResponse[] = new Array(cases.length);
  let next = 0;
  const lane = async () => {
    while (next < cases.length) {
      const c = cases[next++]!;
      const headers = { ...c.headers, ...(c.auth ? OPERATOR : {}) };
      out[c.n] = await rawRequest(base, { method: c.method, path: c.path, headers, body: c.body, timeoutMs: 20_000 });
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  return out;
}

/** Malformed HTTP a client library would not send: written on a socket, read until the server closes it. */
async function rawSocket(port: number, text: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let got = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no close within 10 s for ${JSON.stringify(text.slice(0, 80))}`));
    }, 10_000);
    sock.on('data', (d: Buffer) => void (got += d.toString('latin1')));
    sock.on('error', () => undefined);
    sock.on('close', () => {
      clearTimeout(timer);
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
      resolve(m ? Number(m[1]) : undefined);
    });
    // write, not end: a half-closed socket is closed by the server before an async answer.
    sock.write(text, 'latin1');
  });
}

describe('express: hostile HTTP (generated corpus)', function () {
  this.timeout(180_000);
  let redis: TestRedis;
  let admin: Redis;
  let open: Served;
  let closed: Served;
  let targets: Targets;
  const logged: string[] = [];
  const tokens = new Set<string>();
  const logger = (...args: unknown[]) => void logged.push(JSON.stringify(args));

  before(async () => {
    redis = await startRedis({ args: ['--enable-debug-command', 'local'] });
    admin = new Redis(redis.url);
    const prefix = uniquePrefix('xhostile');
    // A small payload limit keeps "over the limit" bodies small and the corpus fast.
    configure({ connection: redis.url, prefix, maxPayloadBytes: 4096 });
    const worker = await createWorker({ workflows: [plain, webhooks, done, failing], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    try {
      const p = await start(plain, ['one']);
      const w = await start(webhooks, []);
      const d = await start(done, []);
      const f = await start(failing, []);
      await d.returnValue;
      await f.returnValue.catch(() => undefined);
      targets = { plainToken: (await tokensOf(p, 1))[0]!, webhookTokens: await tokensOf(w, 3), liveRunId: p.runId, finishedRunIds: [d.runId, f.runId] };
    } finally {
      // Nothing may process jobs while the digest is compared.
      await worker.close();
    }
    await settledStore();
    // The closed worker's transient keys (locks, its stalled-check marker) expire by themselves: drop
    // them now, or one would expire during the corpus and change the digest.
    for (const key of await admin.keys('*')) {
      const ttl = await admin.pttl(key);
      if (ttl > 0 && ttl < 3_600_000) await admin.del(key);
    }

    const a = express();
    a.get('/health', (_req, res) => void res.send('ok'));
    a.use(workflowRouter({ auth: operatorAuth, dashboard: { readOnly: true }, logger }));
    open = await serve(a);
    const b = express();
    b.get('/health', (_req, res) => void res.send('ok'));
    b.use(workflowRouter({ dashboard: { readOnly: true }, logger }));
    closed = await serve(b);
  });
  after(async () => {
    await open?.close();
    await closed?.close();
    await closeWorkflowClient();
    admin?.disconnect();
    await redis?.stop();
  });

  it('answers a few thousand invalid requests on every route with 4xx, writes nothing, logs no token or payload, and stays up', async () => {
    const cases = buildCorpus(SEED, targets, RANDOM, tokens);
    const secrets = [...tokens, ...targets.webhookTokens, targets.plainToken, PAYLOAD_MARKER, KEY_MARKER];
    // Warm-up outside the digest window: lazy set-up (the dashboard's board, subscriptions) happens here.
    expect((await rawRequest(open.url, { path: '/runs', headers: OPERATOR })).status).to.equal(200);
    expect((await rawRequest(open.url, { path: '/admin/queues/api/queues', headers: OPERATOR })).status).to.equal(200);
    const before = await digest(admin);
    const snapBefore = await snapshotKeyspace(admin);

    const failures: string[] = [];
    const check = (server: string, c: HostileCase, r: RawResponse, authorised: boolean) => {
      const why: string[] = [];
      if (r.status >= 500) why.push(`status ${r.status}`);
      if (r.status === 0 && c.method !== 'CONNECT') why.push(`no answer (${r.error})`);
      if (c.expect !== undefined && r.status !== c.expect) why.push(`status ${r.status}, expected ${c.expect}`);
      if (c.expect === 405 && r.headers.allow === undefined) why.push('405 without Allow');
      // Live tokens and payloads are only ever shown to an operator, on an operator route.
      const mayShow = authorised && c.operator && c.auth;
      if (!mayShow && secrets.some((s) => r.body.includes(s))) why.push('the answer holds a token or a payload');
      if (why.length > 0) failures.push(`[${server}] #${c.n} ${c.kind} ${c.method} ${c.path.slice(0, 160)} → ${why.join('; ')}`);
    };
    const answersOpen = await send(open.url, cases);
    if (process.env.HOSTILE_STATS) {
      // HOSTILE_STATS=1: how often each kind of case got each status.
      const hist = new Map<string, number>();
      for (const c of cases) {
        const key = `${c.kind.split(':')[1] ?? c.kind} ${answersOpen[c.n]!.status}`;
        hist.set(key, (hist.get(key) ?? 0) + 1);
      }
      console.log([...hist.entries()].sort().map(([k, v]) => `${k}: ${v}`).join('\n'));
    }
    cases.forEach((c, i) => check('auth', c, answersOpen[i]!, true));
    const answersClosed = await send(closed.url, cases);
    cases.forEach((c, i) => {
      const r = answersClosed[i]!;
      check('no-auth', c, r, false);
      if (c.operator && r.status >= 200 && r.status < 300 && c.method !== 'OPTIONS') failures.push(`[no-auth] #${c.n} ${c.kind} ${c.method} ${c.path.slice(0, 160)} → ${r.status}: served without auth`);
    });

    const webhook = `/.well-known/workflow/v1/webhook/${targets.webhookTokens[0]}`;
    const rawCases = [
      'GET /runs HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n',
      'POST /hooks/resume HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
      'POST /hooks/resume HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nZZ\r\n{}\r\n0\r\n\r\n',
      `POST ${webhook}%ZZ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}`,
      `TRACE ${webhook} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      'POST /.well-known/workflow/v1/webhook/no-such-token HTTP/1.1\r\nHost: x\r\nX-Bad: a\u0000b\r\nContent-Length: 2\r\n\r\n{}',
      'GET /runs HTTP/9.9\r\nHost: x\r\n\r\n',
      'GET /runs/a b/events HTTP/1.1\r\nHost: x\r\n\r\n',
      'POST http://evil.example/.well-known/workflow/v1/webhook/no-such-token HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
      'POST //[/.well-known/workflow/v1/webhook/no-such-token HTTP/1.1\r\nHost: [[[\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
      'POST /.well-known/workflow/v1/webhook/no-such-token HTTP/1.1\r\nHost: \u00ff\u00fe\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx',
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      `GET /runs/${targets.liveRunId}/events?after=99999999999999999999-0 HTTP/1.1\r\nHost: x\r\nX-Operator: letmein\r\nConnection: close\r\n\r\n`,
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
    ];
    for (const server of [open, closed]) {
      const port = Number(new URL(server.url).port);
      for (const [i, text] of rawCases.entries()) {
        const status = await rawSocket(port, text);
        if (process.env.HOSTILE_STATS) console.log(`raw #${i}: ${status}`);
        if (status === undefined || status >= 500) failures.push(`[raw ${server === open ? 'auth' : 'no-auth'}] #${i} → ${status ?? 'closed without an answer'}`);
      }
    }

    // Taken before anything is reported, so that a failed run still shows whether it wrote.
    const after = await digest(admin);
    if (failures.length > 0) {
      throw new Error(`seed ${SEED}: ${failures.length} of ${cases.length * 2} requests failed (reproduce with HOSTILE_SEED=${SEED}):\n${failures.slice(0, 40).join('\n')}`);
    }
    if (after !== before) {
      const snapAfter = await snapshotKeyspace(admin);
      const changed = [...new Set([...snapBefore.keys(), ...snapAfter.keys()])].filter((k) => snapBefore.get(k) !== snapAfter.get(k));
      // The newest event of a changed run log names the request that wrote it.
      const logs = changed.filter((k) => k.endsWith(':events') && k.includes(':run:'));
      const last = await Promise.all(logs.map(async (k) => JSON.stringify(await admin.xrevrange(k, '+', '-', 'COUNT', 1)).slice(0, 600)));
      expect.fail(`Redis changed during the corpus (seed ${SEED}); keys: ${changed.join(', ')}; last events: ${last.join(' | ')}`);
    }

    // Both servers still answer, and the open one still serves operators.
    for (const server of [open, closed]) expect((await rawRequest(server.url, { path: '/health' })).status).to.equal(200);
    expect((await rawRequest(open.url, { path: `/runs/${targets.liveRunId}`, headers: OPERATOR })).status).to.equal(200);

    const leaked = logged.filter((line) => secrets.some((s) => line.includes(s)));
    expect(leaked, `log lines holding a token or payload (seed ${SEED})`).to.deep.equal([]);
    expect(logged.filter((l) => l.startsWith('["error"')), 'no request failed with a 500').to.deep.equal([]);
    expect(cases.length).to.be.at.least(4000);
  });

  it('without credentials the operator routes answer 401 (app auth) or 403 (no auth configured), and serve with them', async () => {
    const { liveRunId } = targets;
    const gets = ['/runs', `/runs/${liveRunId}`, `/runs/${liveRunId}/events`, `/runs/${liveRunId}/timeline`, '/inspector'];
    for (const path of gets) {
      expect((await rawRequest(open.url, { path })).status, path).to.equal(401);
      expect((await rawRequest(open.url, { path, headers: OPERATOR })).status, path).to.equal(200);
      const denied = await rawRequest(closed.url, { path, headers: OPERATOR });
      expect({ status: denied.status, body: JSON.parse(denied.body) }, path).to.deep.equal({ status: 403, body: { error: NEED_AUTH } });
    }
    const cancel = { method: 'POST', path: `/runs/${liveRunId}/cancel`, headers: { 'content-type': 'application/json' }, body: '{}' };
    expect((await rawRequest(open.url, cancel)).status).to.equal(401);
    expect((await rawRequest(closed.url, { ...cancel, headers: { ...cancel.headers, ...OPERATOR } })).status).to.equal(403);
    const fanOut = { method: 'POST', path: '/hooks/resume-by-tag', headers: { 'content-type': 'application/json' }, body: '{"tag":"none","data":1}' };
    expect((await rawRequest(open.url, fanOut)).status).to.equal(401);
    expect((await rawRequest(closed.url, { ...fanOut, headers: { ...fanOut.headers, ...OPERATOR } })).status).to.equal(403);
    // The closed router said so once, when it was built; so did its unmounted dashboard.
    expect(logged.filter((l) => l.includes('operator routes') && l.includes('403'))).to.have.length(1);
    expect(logged.filter((l) => l.includes('dashboard is not mounted'))).to.have.length(1);
  });
});
