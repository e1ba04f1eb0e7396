/**
 * workflow-redis/express: the JSON resume route of the seed page and the
 * webhook route, against a real Redis and an in-process worker.
 */
import { expect } from 'chai';
import express from 'express';
import { createHook, createWebhook, defineStep, defineWorkflow, type WebhookRequest } from 'workflow-redis';
import { closeWorkflowClient, configure, getRun, start, type Run } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { gzipSync } from 'node:zlib';
import { jsonOf, postJson, rawRequest, serve, type Served } from './_util.js';

const N = 'express-hooks';
const WEBHOOK = '/.well-known/workflow/v1/webhook';

const waitForPayload = defineWorkflow(`${N}.wait`, async (id: string) => {
  const hook = createHook<unknown>({ token: `xh:${id}` });
  return { got: await hook };
});

const disposeFirst = defineWorkflow(`${N}.dispose`, async (id: string) => {
  const first = createHook<unknown>({ token: `xd1:${id}` });
  first.dispose();
  return await createHook<unknown>({ token: `xd2:${id}` });
});

const echo = defineStep(`${N}.echo`, async (req: WebhookRequest) => {
  const body = await req.text();
  await req.respondWith(
    new Response(JSON.stringify({ echo: body, method: req.method }), { status: 201, headers: { 'content-type': 'application/json', 'x-reply': 'manual' } }),
  );
  return body;
});

const webhooks = defineWorkflow(`${N}.webhooks`, async () => {
  const a = createWebhook();
  const b = createWebhook({ respondWith: new Response('static!', { status: 200, headers: { 'x-static': 'yes' } }) });
  const c = createWebhook({ respondWith: 'manual' });
  const ra = await a;
  const rb = await b;
  const rc = await c;
  const got = await echo(rc);
  return { a: { method: ra.method, url: ra.url, header: ra.headers.get('x-custom'), body: await ra.text() }, b: rb.method, got };
});

const silent = defineWorkflow(`${N}.silent`, async () => {
  const hook = createWebhook({ respondWith: 'manual' });
  await hook;
  return 'never responded';
});

/** Tokens of a run's hooks, in creation order, once `n` exist. */
async function tokensOf(run: Run<unknown>, n: number): Promise<string[]> {
  return waitFor(
    async () => {
      const created = (await run.events()).filter((e) => e.type === 'hook_created');
      return created.length >= n ? created.map((e) => (e.data as { token: string }).token) : undefined;
    },
    { what: `${n} hooks` },
  ) as Promise<string[]>;
}

describe('express: resume and webhook routes', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  let server: Served;
  let slowServer: Served;
  const prefix = uniquePrefix('xhooks');

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [waitForPayload, disposeFirst, webhooks, silent], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    const app = express();
    // Only the public routes are used here: no auth needed (the operator routes answer 403).
    app.use(workflowRouter({ logger: () => undefined }));
    server = await serve(app);
    const slow = express();
    slow.use(workflowRouter({ webhookResponseTimeoutMs: 300, logger: () => undefined }));
    slowServer = await serve(slow);
  });
  after(async () => {
    await server?.close();
    await slowServer?.close();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  const resume = (body: unknown, headers?: Record<string, string>) => postJson(`${server.url}/hooks/resume`, body, headers).then(jsonOf);

  it('POST /hooks/resume { token, data } → 200 { runId } and the run receives the data', async () => {
    const id = `ok-${Date.now()}`;
    const run = await start(waitForPayload, [id]);
    const res = await waitFor(async () => {
      const r = await resume({ token: `xh:${id}`, data: { approved: true, n: 7 } });
      return r.status === 404 ? undefined : r; // 404 until the workflow has suspended on its hook
    });
    expect(res).to.deep.equal({ status: 200, body: { runId: run.runId } });
    expect(await run.returnValue).to.deep.equal({ got: { approved: true, n: 7 } });
    // Finished run: its token is dead.
    expect(await resume({ token: `xh:${id}`, data: 1 })).to.deep.equal({ status: 404, body: { error: 'Hook not found' } });
  });

  it('404 { error: "Hook not found" } for an unknown or a disposed token', async () => {
    expect(await resume({ token: 'no-such-token', data: 1 })).to.deep.equal({ status: 404, body: { error: 'Hook not found' } });
    const id = `disp-${Date.now()}`;
    const run = await start(disposeFirst, [id]);
    await waitFor(async () => (await getRun(run.runId).events()).some((e) => e.type === 'hook_disposed'), { what: 'hook_disposed' });
    expect(await resume({ token: `xd1:${id}`, data: 1 })).to.deep.equal({ status: 404, body: { error: 'Hook not found' } });
    expect((await resume({ token: `xd2:${id}`, data: 'second' })).status).to.equal(200);
    expect(await run.returnValue).to.equal('second');
  });

  it('400 for a missing, non-string, empty or over-long token', async () => {
    for (const body of [{ data: 1 }, { token: 42, data: 1 }, { token: null }, { token: '' }, { token: 'x'.repeat(300) }, {}]) {
      const r = await resume(body);
      expect(r.status, JSON.stringify(body).slice(0, 60)).to.equal(400);
      expect(r.body.error).to.be.a('string');
    }
  });

  it('400 (never 500) for malformed JSON, non-object bodies and non-JSON content types', async () => {
    for (const raw of ['{bad json', '{"token": "x",', '"just a string"', '[1,2]', 'null', '']) {
      const r = await resume(raw);
      expect(r.status, raw).to.equal(400);
      expect(r.body).to.have.property('error').that.is.a('string');
      expect(r.body.error, 'the message does not echo the body').not.to.include('bad json');
    }
    const text = await fetch(`${server.url}/hooks/resume`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{"token":"x"}' });
    expect(text.status).to.equal(400);
    const none = await fetch(`${server.url}/hooks/resume`, { method: 'POST' });
    expect(none.status).to.equal(400);
  });

  it('413 for a payload over the limit (checked after parsing) and for a body over the parser limit', async () => {
    const overPayload = await resume({ token: 'any-token', data: 'x'.repeat(1024 * 1024 + 10) });
    expect(overPayload.status).to.equal(413);
    expect(overPayload.body.error).to.match(/over the limit/);
    const overBody = await resume({ token: 'any-token', data: 'x'.repeat(2 * 1024 * 1024) });
    expect(overBody).to.deep.equal({ status: 413, body: { error: 'Request body too large.' } });
  });

  it('webhook route: 202 by default, the static response, and a manual response from a step', async () => {
    const run = await start(webhooks, []);
    const [a, b, c] = await tokensOf(run, 3);

    const ra = await fetch(`${server.url}${WEBHOOK}/${a}?source=test`, { method: 'POST', headers: { 'x-custom': 'hello', 'content-type': 'text/plain' }, body: 'payload-a' });
    expect(ra.status).to.equal(202);
    expect(await ra.text()).to.equal('');

    const rb = await fetch(`${server.url}${WEBHOOK}/${b}`, { method: 'PUT', body: 'ignored' });
    expect(rb.status).to.equal(200);
    expect(rb.headers.get('x-static')).to.equal('yes');
    expect(await rb.text()).to.equal('static!');

    const rc = await fetch(`${server.url}${WEBHOOK}/${c}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"hi":1}' });
    expect(rc.status).to.equal(201);
    expect(rc.headers.get('x-reply')).to.equal('manual');
    expect(rc.headers.get('content-type')).to.equal('application/json');
    expect(await rc.json()).to.deep.equal({ echo: '{"hi":1}', method: 'POST' });

    const out = (await run.returnValue) as any;
    expect(out.a).to.deep.equal({ method: 'POST', url: `${server.url}${WEBHOOK}/${a}?source=test`, header: 'hello', body: 'payload-a' });
    expect(out.b).to.equal('PUT');
    expect(out.got).to.equal('{"hi":1}');
    // The run is over: its webhooks are gone.
    expect((await fetch(`${server.url}${WEBHOOK}/${a}`, { method: 'POST', body: 'late' })).status).to.equal(404);
  });

  it('webhook route: 404 for an unknown token and for a plain (non-webhook) hook, which stays unresumed', async () => {
    const unknown = await jsonOf(await fetch(`${server.url}${WEBHOOK}/nope-nope`, { method: 'POST', body: 'x' }));
    expect(unknown).to.deep.equal({ status: 404, body: { error: 'Hook not found' } });
    const get = await fetch(`${server.url}${WEBHOOK}/nope-nope`);
    expect(get.status).to.equal(404);

    const id = `plain-${Date.now()}`;
    const run = await start(waitForPayload, [id]);
    await tokensOf(run, 1);
    const before = (await run.events()).length;
    const plain = await jsonOf(await fetch(`${server.url}${WEBHOOK}/${encodeURIComponent(`xh:${id}`)}`, { method: 'POST', body: '{}' }));
    expect(plain).to.deep.equal({ status: 404, body: { error: 'Hook not found' } });
    expect((await run.events()).length, 'nothing appended').to.equal(before);
    expect((await resume({ token: `xh:${id}`, data: 'via resume route' })).status).to.equal(200);
    expect(await run.returnValue).to.deep.equal({ got: 'via resume route' });
  });

  it('webhook route: 504 when a manual webhook gets no response in time', async () => {
    const run = await start(silent, []);
    const [token] = await tokensOf(run, 1);
    const res = await jsonOf(await fetch(`${slowServer.url}${WEBHOOK}/${token}`, { method: 'POST', body: 'x' }));
    expect(res).to.deep.equal({ status: 504, body: { error: 'The workflow did not send a response in time.' } });
    expect(await run.returnValue).to.equal('never responded');
  });

  it('webhook route: 405 with an Allow header for TRACE and TRACK (a Fetch Request cannot carry them); the webhook stays live', async () => {
    const run = await start(webhooks, []);
    const [a] = await tokensOf(run, 3);
    for (const method of ['TRACE', 'TRACK']) {
      const r = await rawRequest(server.url, { method, path: `${WEBHOOK}/${a}` });
      // Node's HTTP parser refuses TRACK itself (400) before Express sees it.
      expect(r.status, method).to.equal(method === 'TRACE' ? 405 : 400);
      if (method === 'TRACE') expect(r.headers.allow).to.equal('GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS');
    }
    const hookReceived = async () => (await run.events()).filter((e) => e.type === 'hook_received').length;
    expect(await hookReceived()).to.equal(0);
    await getRun(run.runId).cancel();
  });

  it('400, not 500, for a malformed %-escape in the token, and the answer does not quote it', async () => {
    for (const bad of ['%ZZ', '%', '%E0%A4', '%ED%A0%80', '%C0%AF', '%FF']) {
      const webhook = await rawRequest(server.url, { method: 'POST', path: `${WEBHOOK}/secret-token${bad}`, body: 'x' });
      expect(webhook.status, bad).to.equal(400);
      expect(webhook.body, 'the token is not echoed').not.to.include('secret-token');
      expect(JSON.parse(webhook.body).error).to.match(/percent-encoding/);
    }
  });

  it('400 for a corrupt gzip or deflate body, 415 for an unknown content-encoding, on both routes', async () => {
    const json = gzipSync(Buffer.from('{"token":"t","data":1}'));
    for (const path of ['/hooks/resume', `${WEBHOOK}/some-token`]) {
      const corrupt = { 'content-type': 'application/json', 'content-encoding': 'gzip' };
      expect((await rawRequest(server.url, { method: 'POST', path, headers: corrupt, body: 'not gzip at all' })).status, path).to.equal(400);
      expect((await rawRequest(server.url, { method: 'POST', path, headers: corrupt, body: json.subarray(0, 12) })).status, 'truncated').to.equal(400);
      const deflate = { 'content-type': 'application/json', 'content-encoding': 'deflate' };
      expect((await rawRequest(server.url, { method: 'POST', path, headers: deflate, body: 'nope' })).status).to.equal(400);
      const unknown = { 'content-type': 'application/json', 'content-encoding': 'x-compress' };
      expect((await rawRequest(server.url, { method: 'POST', path, headers: unknown, body: 'nope' })).status).to.equal(415);
    }
  });

  it('400 for a payload nested 10 000 deep (JSON.parse copes; serialising it must not be a 500)', async () => {
    const deep = `{"token":"no-such-token","data":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const r = await resume(deep);
    expect(r.status).to.equal(400);
    expect(r.body.error).to.be.a('string');
  });
});
