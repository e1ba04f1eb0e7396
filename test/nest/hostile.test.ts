/**
 * workflow-redis/nest under hostile HTTP: a seeded, generated corpus against
 * the webhook controller of a Nest app (Express platform, `rawBody: true`) —
 * undecodable %-escapes in the token, every method, corrupt and unsupported
 * encodings, bad JSON, over-limit and deep bodies, odd tokens. Live webhooks
 * are set up first and only ever sent requests that are invalid by
 * construction. Asserts: no 5xx, 400 for an undecodable token, 405 with an
 * Allow header for TRACE, DEBUG DIGEST unchanged, and no log line (Nest's
 * logger) holding a token or a payload.
 *
 * The app runs in its own process (see _hostile-app.ts for why). Nest answers
 * an undecodable token with its own 400 whose message quotes the raw
 * parameter (Express fails before the controller runs); it does not log it.
 * Reproduce a failure with HOSTILE_SEED=<seed>.
 */
import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { createWebhook, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { createWorker } from 'workflow-redis/worker';
import { settledStore } from '../foundation/helpers.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { BAD_ESCAPES, KEY_MARKER, METHODS, PAYLOAD_MARKER, rng, undecodable, type HostileCase } from '../express/_hostile-corpus.js';
import { rawRequest } from '../express/_util.js';

const SEED = Number(process.env.HOSTILE_SEED ?? 20261203);
const WEBHOOK = '/.well-known/workflow/v1/webhook';

const webhooks = defineWorkflow('nest-hostile.webhooks', async () => {
  const a = createWebhook();
  const b = createWebhook({ respondWith: 'manual' });
  await a;
  await b;
  return 'resumed';
});

/** A corpus case as the Express suite's, without its auth fields (the Nest module has no operator routes). */
type NestCase = Omit<HostileCase, 'auth' | 'operator'>;

/** The corpus: live tokens only with a broken escape, a refused method, or a body Nest's parsers refuse. */
function corpus(seed: number, live: string[], unknown: string[]): NestCase[] {
  const rand = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const out: NestCase[] = [];
  const marked = `{"${KEY_MARKER}":"${PAYLOAD_MARKER}"}`;
  // Bodies Nest's JSON and form parsers refuse before the controller reads them.
  const refused: [string, Record<string, string>, Buffer][] = [
    ['json-gzip-corrupt', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from(marked)],
    ['json-gzip-truncated', { 'content-type': 'application/json', 'content-encoding': 'gzip' }, gzipSync(marked).subarray(0, 12)],
    ['form-deflate-corrupt', { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'deflate' }, Buffer.from(`${KEY_MARKER}=${PAYLOAD_MARKER}`)],
    ['json-br-corrupt', { 'content-type': 'application/json', 'content-encoding': 'br' }, Buffer.from([0xff, 0xff, 0x00])],
    ['json-unknown-encoding', { 'content-type': 'application/json', 'content-encoding': 'x-secret' }, Buffer.from(marked)],
    ['json-malformed', { 'content-type': 'application/json' }, Buffer.from(`{"${KEY_MARKER}":`)],
    ['json-latin1', { 'content-type': 'application/json; charset=latin1' }, Buffer.from(marked)],
    ['json-over-limit', { 'content-type': 'application/json' }, Buffer.from(JSON.stringify({ [KEY_MARKER]: PAYLOAD_MARKER.repeat(8000) }))],
    ['text-over-limit', { 'content-type': 'text/plain' }, Buffer.alloc(80 * 1024, 'x')],
  ];
  const anything: [string, Record<string, string>, Buffer | undefined][] = [
    ...refused,
    ['json-deep', { 'content-type': 'application/json' }, Buffer.from(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)],
    ['json-proto', { 'content-type': 'application/json' }, Buffer.from(`{"__proto__":{"${KEY_MARKER}":1}}`)],
    ['text', { 'content-type': 'text/plain' }, Buffer.from(marked)],
    ['none', {}, undefined],
  ];
  const add = (c: Omit<NestCase, 'n'>) => void out.push({ n: out.length, ...c, path: c.path.replace(/[^\u0021-\u007e]/gu, (ch) => encodeURIComponent(ch)) });
  const request = (token: string, isLive: boolean, seg: string, method: string, kind: string) => {
    const byNode = method === 'TRACK' || method === 'FOOBAR' || method === 'CONNECT';
    const refusedMethod = byNode || method === 'TRACE';
    const stillLive = isLive && !undecodable(seg) && !refusedMethod;
    // The controller reads no body for GET and HEAD: there only a parser's refusal breaks the request.
    const breaking = method === 'GET' || method === 'HEAD' ? refused.filter(([n]) => n !== 'text-over-limit') : refused;
    const [name, headers, body] = stillLive ? pick(breaking) : pick(anything);
    // A method refused before the body is read gets no big body (the server would not read it).
    const small = refusedMethod && body && body.length > 4096 ? undefined : body;
    // Nest's body parsers run before routing: a body they refuse decides the status first.
    const parsedFirst = refused.some(([n]) => n === name) && small !== undefined;
    const expect = byNode || parsedFirst ? undefined : undecodable(seg) ? 400 : method === 'TRACE' ? 405 : undefined;
    add({ kind: `${kind}/${name}`, method, path: `${WEBHOOK}/${seg}`, headers, body: small, expect });
  };
  for (const [i, token] of [...live, ...unknown].entries()) {
    const isLive = i < live.length;
    for (const method of METHODS) request(token, isLive, encodeURIComponent(token), method, 'method');
    for (const bad of BAD_ESCAPES) {
      for (const seg of [`${token}${bad}`, `${bad}${token}`, `${token.slice(0, 3)}${bad}${token.slice(3)}`]) request(token, isLive, seg, pick(METHODS), 'escape');
    }
  }
  for (let i = 0; i < 400; i++) {
    const k = Math.floor(rand() * (live.length + unknown.length));
    const token = [...live, ...unknown][k]!;
    const seg = rand() < 0.4 ? `${token}${pick(BAD_ESCAPES)}` : rand() < 0.5 ? `${token}${pick(['%2F', '..%2f', '%00', '%20', 'x'.repeat(300)])}` : encodeURIComponent(token);
    request(token, k < live.length && seg === encodeURIComponent(token), seg, pick(METHODS), 'random');
  }
  return out;
}

describe('nest: hostile HTTP on the webhook route (generated corpus)', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let admin: Redis;
  let app: ChildProcess;
  let exited: Promise<unknown>;
  let base: string;
  let live: string[];
  /** The app's stdout lines: its port, then Nest's log messages. */
  const lines: string[] = [];

  before(async () => {
    redis = await startRedis({ args: ['--enable-debug-command', 'local'] });
    admin = new Redis(redis.url);
    const prefix = uniquePrefix('nhostile');
    configure({ connection: redis.url, prefix, maxPayloadBytes: 4096 });
    const worker = await createWorker({ workflows: [webhooks], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    try {
      const run = await start(webhooks, []);
      live = (await waitFor(async () => {
        const created = (await run.events()).filter((e) => e.type === 'hook_created');
        return created.length >= 2 ? created.map((e) => (e.data as { token: string }).token) : undefined;
      }, { what: 'two webhooks' }))!;
    } finally {
      await worker.close();
    }
    await settledStore();
    await closeWorkflowClient();
    app = spawn(process.execPath, ['--import', 'tsx', 'test/nest/_hostile-app.ts', redis.url, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    exited = new Promise((resolve) => app.once('exit', resolve));
    let buffered = '';
    app.stdout!.on('data', (d: Buffer) => {
      buffered += d.toString('utf8');
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      lines.push(...parts);
    });
    const port = await waitFor(() => lines.map((l) => (JSON.parse(l) as { port?: number }).port).find((p) => p !== undefined), { timeoutMs: 30_000, what: 'the Nest app to listen' });
    base = `http://127.0.0.1:${port}`;
    expect((await rawRequest(base, { method: 'POST', path: `${WEBHOOK}/nest-warm-up`, body: 'x' })).status).to.equal(404);
    // The closed worker's transient keys (locks, stalled-check) would expire during the corpus.
    for (const key of await admin.keys('*')) {
      const ttl = await admin.pttl(key);
      if (ttl > 0 && ttl < 3_600_000) await admin.del(key);
    }
  });
  after(async () => {
    if (app && app.exitCode === null) {
      app.kill('SIGTERM');
      await exited;
    }
    admin?.disconnect();
    await redis?.stop();
  });

  it('never answers 5xx, writes nothing and logs no token or payload', async () => {
    const unknown = ['nest-no-such-token', `tok-marker-${SEED}`];
    const cases = corpus(SEED, live, unknown);
    const before = String(await admin.call('DEBUG', 'DIGEST'));
    const failures: string[] = [];
    let next = 0;
    const lane = async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        const r = await rawRequest(base, { method: c.method, path: c.path, headers: c.headers, body: c.body, timeoutMs: 20_000 }).catch((err: Error) => {
          failures.push(`#${c.n} ${c.kind} ${c.method} ${c.path.slice(0, 140)} → ${err.message}`);
          return undefined;
        });
        if (!r) continue;
        const why: string[] = [];
        if (r.status >= 500) why.push(`status ${r.status}`);
        if (r.status === 0 && c.method !== 'CONNECT') why.push(`no answer (${r.error})`);
        if (c.expect !== undefined && r.status !== c.expect) why.push(`status ${r.status}, expected ${c.expect}`);
        if (c.expect === 405 && r.headers.allow !== 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS') why.push('405 without Allow');
        if ([PAYLOAD_MARKER, KEY_MARKER].some((m) => r.body.includes(m))) why.push('the answer holds the payload');
        if (why.length > 0) failures.push(`#${c.n} ${c.kind} ${c.method} ${c.path.slice(0, 140)} → ${why.join('; ')}`);
      }
    };
    await Promise.all(Array.from({ length: 6 }, lane));
    const after = String(await admin.call('DEBUG', 'DIGEST'));
    if (failures.length > 0) throw new Error(`seed ${SEED} (HOSTILE_SEED=${SEED} to reproduce): ${failures.length} failed:\n${failures.slice(0, 40).join('\n')}`);
    expect(after, `Redis changed during the corpus (seed ${SEED})`).to.equal(before);
    expect((await rawRequest(base, { method: 'POST', path: `${WEBHOOK}/nest-after`, body: 'x' })).status, 'still up').to.equal(404);
    const secrets = [...live, ...unknown, PAYLOAD_MARKER, KEY_MARKER];
    const logs = lines.filter((l) => l.startsWith('{"log"'));
    expect(logs.length, 'the start-up lines are captured').to.be.greaterThan(0);
    expect(logs.filter((l) => secrets.some((s) => l.includes(s))), 'log lines with a token or payload').to.deep.equal([]);
    expect(logs.filter((l) => l.includes('"level":"error"')), 'no error logged').to.deep.equal([]);
    expect(cases.length).to.be.greaterThan(500);
  });
});
