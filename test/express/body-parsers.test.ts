/**
 * The webhook route of workflowRouter() behind the app's body parsers
 * (express.json, urlencoded, text, raw mounted before the router), against a
 * real Redis and worker. Per case: the workflow gets the exact bytes (the
 * router reads the stream itself, a parser kept them with keepRawBody, or a
 * text parser's string provably round-trips), or the route answers 500 with
 * how to fix the mounting and writes nothing — never a 202 with a lost body.
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { gzipSync } from 'node:zlib';
import { createWebhook, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, start, type Run } from 'workflow-redis/api';
import { keepRawBody, workflowRouter, type RouterLogger } from 'workflow-redis/express';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { rawRequest, serve, type Served } from './_util.js';

const WEBHOOK = '/.well-known/workflow/v1/webhook';

interface Received {
  base64: string;
  contentType: string | null;
  contentEncoding: string | null;
}

const capture = defineWorkflow('express-parsers.capture', async (): Promise<Received> => {
  const request = await createWebhook();
  return {
    base64: Buffer.from(await request.arrayBuffer()).toString('base64'),
    contentType: request.headers.get('content-type'),
    contentEncoding: request.headers.get('content-encoding'),
  };
});

const JSON_ODD = Buffer.from('{ "a" :1,\n\t"b":[ 2 ,3 ],"c":"\\u00e9"   }\r\n');
const FORM = Buffer.from('a=1&b%5Bc%5D=x+y&a=2&empty=&%C3%A9=%E2%82%AC');
const TEXT_UTF8 = Buffer.from('héllo, wörld — ✓\n');
const BINARY = Buffer.from([0x00, 0xff, 0xfe, 0x80, 0x0d, 0x0a, 0xc3, 0x28, 0x7b]);
const CONSUMED = /already read by a body parser mounted before workflowRouter\(\).*keepRawBody/s;

interface Case {
  headers: Record<string, string>;
  body: Buffer;
}

const json: Case = { headers: { 'content-type': 'application/json' }, body: JSON_ODD };
const form: Case = { headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: FORM };
const text: Case = { headers: { 'content-type': 'text/plain; charset=utf-8' }, body: TEXT_UTF8 };
const octets: Case = { headers: { 'content-type': 'application/octet-stream' }, body: BINARY };

describe('express: the webhook route behind body parsers mounted before the router', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const prefix = uniquePrefix('xparsers');
  const logged: { level: string; msg: string; fields?: Record<string, unknown> }[] = [];
  const logger: RouterLogger = (level, msg, fields) => void logged.push({ level, msg, fields });
  const servers: Served[] = [];
  const refusedTokens: string[] = [];
  const apps: Record<string, string> = {};

  /** An app with `parsers` mounted before workflowRouter(). */
  async function app(name: string, ...parsers: RequestHandler[]): Promise<void> {
    const a = express();
    for (const p of parsers) a.use(p);
    a.use(workflowRouter({ logger }));
    const served = await serve(a);
    servers.push(served);
    apps[name] = served.url;
  }

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [capture], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    await app('router first');
    await app('json', express.json());
    await app('json+verify', express.json({ verify: keepRawBody }));
    await app('urlencoded', express.urlencoded());
    await app('urlencoded+verify', express.urlencoded({ verify: keepRawBody }));
    await app('text', express.text());
    await app('raw', express.raw());
    await app('all four', express.json(), express.urlencoded(), express.text(), express.raw());
    await app('all four+verify', ...[express.json, express.urlencoded, express.text, express.raw].map((p) => p({ verify: keepRawBody })));
  });

  after(async () => {
    for (const s of servers) await s.close();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  async function webhook(): Promise<{ run: Run<Received>; token: string }> {
    const run = await start(capture, []);
    const token = await waitFor(
      async () => ((await run.events()).find((e) => e.type === 'hook_created')?.data as { token?: string } | undefined)?.token,
      { what: 'the webhook' },
    );
    return { run, token: token! };
  }

  const send = (appName: string, token: string, c: Case, extra: Record<string, string> = {}) =>
    rawRequest(apps[appName]!, { method: 'POST', path: `${WEBHOOK}/${token}`, headers: { ...c.headers, ...extra }, body: c.body });

  /** The webhook gets `c` through `appName` byte for byte (202). */
  async function delivers(appName: string, c: Case, expected: Buffer = c.body): Promise<Received> {
    const { run, token } = await webhook();
    const res = await send(appName, token, c);
    expect(res.status, `${appName}: ${res.body}`).to.equal(202);
    const got = await run.returnValue;
    expect(Buffer.from(got.base64, 'base64').equals(expected), `${appName}: exact bytes`).to.equal(true);
    return got;
  }

  /** `appName` refuses `c` with a 500 that says how to mount the router, writes nothing, and the webhook still takes it elsewhere. */
  async function refuses(appName: string, c: Case, extra: Record<string, string> = {}): Promise<void> {
    const { run, token } = await webhook();
    refusedTokens.push(token);
    const res = await send(appName, token, c, extra);
    expect(res.status, `${appName}: ${res.body}`).to.equal(500);
    expect(JSON.parse(res.body).error).to.match(CONSUMED);
    expect(res.body, 'the answer does not quote the token').not.to.include(token);
    expect((await run.events()).map((e) => e.type), 'nothing written').not.to.include('hook_received');
    // The hook is still live: the same request through a router mounted first is delivered whole.
    const again = await send('router first', token, c, extra);
    expect(again.status).to.equal(202);
    expect(Buffer.from((await run.returnValue).base64, 'base64').equals(c.body)).to.equal(true);
  }

  it('router mounted first: JSON with odd whitespace, a form, text and binary arrive byte for byte', async () => {
    for (const c of [json, form, text, octets]) await delivers('router first', c);
  });

  it('express.json() before the router: JSON is refused (500, nothing written); other types pass through to the router', async () => {
    await refuses('json', json);
    await delivers('json', form);
    await delivers('json', text);
  });

  it('express.json({ verify: keepRawBody }) before the router: the kept bytes, also for a gzip body (decoded, no content-encoding)', async () => {
    const got = await delivers('json+verify', json);
    expect(got.contentType).to.equal('application/json');
    const gz = await delivers('json+verify', { headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, body: gzipSync(JSON_ODD) }, JSON_ODD);
    expect(gz.contentEncoding, 'the bytes are decoded: the header goes with the encoding').to.equal(null);
  });

  it('express.urlencoded() before the router: a form is refused (500, nothing written); with keepRawBody it arrives exact', async () => {
    await refuses('urlencoded', form);
    await delivers('urlencoded+verify', form);
    await delivers('urlencoded', json);
  });

  it('express.text() before the router: UTF-8 text that provably round-trips arrives exact; lossy decodes are refused', async () => {
    await delivers('text', text);
    await delivers('text', { headers: { 'content-type': 'text/plain' }, body: Buffer.from('plain ascii') });
    // A BOM the decoder strips, bytes that are not UTF-8, a charset other than UTF-8, and no content-length to check against.
    await refuses('text', { headers: { 'content-type': 'text/plain' }, body: Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), TEXT_UTF8]) });
    await refuses('text', { headers: { 'content-type': 'text/plain' }, body: Buffer.from([0x61, 0xc3, 0x28, 0xf0, 0x9f, 0x98]) });
    await refuses('text', { headers: { 'content-type': 'text/plain; charset=iso-8859-1' }, body: Buffer.from([0x63, 0x61, 0x66, 0xe9]) });
    await refuses('text', { headers: { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' }, body: TEXT_UTF8 });
  });

  it('express.raw() before the router: binary bytes arrive exact; other types are left to the router', async () => {
    await delivers('raw', octets);
    await delivers('raw', json);
  });

  it('all four parsers before the router: JSON and form are refused, text and binary arrive; with keepRawBody everything arrives', async () => {
    await refuses('all four', json);
    await refuses('all four', form);
    await delivers('all four', text);
    await delivers('all four', octets);
    for (const c of [json, form, text, octets]) await delivers('all four+verify', c);
  });

  it('an empty body is no body, whatever parsed it', async () => {
    for (const name of ['json', 'urlencoded', 'text']) {
      const { run, token } = await webhook();
      const res = await rawRequest(apps[name]!, { method: 'POST', path: `${WEBHOOK}/${token}`, headers: { 'content-type': 'application/json', 'content-length': '0' }, body: '' });
      expect(res.status, name).to.equal(202);
      expect((await run.returnValue).base64).to.equal('');
    }
  });

  it('logs the mounting problem once per process, with the fix and no token or URL', () => {
    const lines = logged.filter((l) => l.level === 'error');
    expect(lines).to.have.length(1);
    expect(lines[0]!.msg).to.match(CONSUMED);
    expect(lines[0]!.fields).to.deep.equal({ method: 'POST', route: `${WEBHOOK}/:token` });
    const line = JSON.stringify(lines[0]);
    expect(refusedTokens).to.have.length.greaterThan(5);
    for (const token of refusedTokens) expect(line).not.to.include(token);
    expect(line).not.to.include('127.0.0.1');
  });
});
