/**
 * workflow-redis/nest against a real Redis: a Nest app with WorkflowModule
 * (worker in process), real HTTP requests to the webhook route, and the
 * injectable WorkflowService.
 */
import 'reflect-metadata';
import { expect } from 'chai';
import type { AddressInfo } from 'node:net';
import type { Socket } from 'node:net';
import { Module, type INestApplication, type LoggerService } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { createHook, createWebhook, defineStep, defineWorkflow } from 'workflow-redis';
import type { Run } from 'workflow-redis/api';
import { WorkflowModule, WorkflowService } from 'workflow-redis/nest';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';

const echoWebhook = defineWorkflow('nest-echo-webhook', async () => {
  const webhook = createWebhook({ metadata: { kind: 'echo' } });
  const request = await webhook;
  return {
    url: webhook.url,
    method: request.method,
    contentType: request.headers.get('content-type'),
    custom: request.headers.get('x-custom'),
    body: await request.text(),
  };
});

const reply = defineStep('nest-manual-reply', async (request: Request & { respondWith(r: Response): Promise<void> }) => {
  const body = (await request.json()) as { n: number };
  await request.respondWith(
    new Response(JSON.stringify({ doubled: body.n * 2 }), {
      status: 201,
      headers: { 'content-type': 'application/json', 'x-from': 'step' },
    }),
  );
  return body.n;
});

const manualWebhook = defineWorkflow('nest-manual-webhook', async () => {
  const webhook = createWebhook({ respondWith: 'manual' });
  return await reply(await webhook);
});

const silentManual = defineWorkflow('nest-silent-manual', async () => {
  const webhook = createWebhook({ respondWith: 'manual' });
  const request = await webhook;
  return request.method;
});

const approval = defineWorkflow('nest-approval', async (orderId: string) => {
  const hook = createHook<{ approved: boolean }>({ token: `nest-approval:${orderId}` });
  const payload = await hook;
  return { orderId, approved: payload.approved };
});

/** The token of the run's first hook, once the hook is live. */
const tagged = defineWorkflow('nest-tagged', async (id: string) => {
  const hook = createHook<{ go: string }>({ token: `nest-tagged:${id}`, tags: ['nest-batch'] });
  const { go } = await hook;
  return `${id}:${go}`;
});

async function hookToken(service: WorkflowService, run: Run): Promise<string> {
  const token = await waitFor(
    async () => {
      const created = (await run.events()).find((e) => e.type === 'hook_created');
      const token = (created?.data as { token?: string } | undefined)?.token;
      if (!token) return undefined;
      await service.getHookByToken(token);
      return token;
    },
    { what: 'the hook to be created' },
  );
  return token!;
}

/** Open sockets of this process to `port`. */
function socketsTo(port: number): Socket[] {
  const handles = (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();
  return handles.filter((h): h is Socket => {
    const s = h as Partial<Socket>;
    return typeof s.remotePort === 'number' && s.remotePort === port && !s.destroyed;
  });
}

describe('workflow-redis/nest', () => {
  let redis: TestRedis;
  let app: INestApplication;
  let service: WorkflowService;
  let base: string;
  let closed = false;

  before(async () => {
    redis = await startRedis();
    const moduleRef = await Test.createTestingModule({
      imports: [
        WorkflowModule.forRoot({
          connection: redis.url,
          prefix: uniquePrefix('nest'),
          workflows: [echoWebhook, manualWebhook, approval, tagged],
          worker: { concurrency: 4, lockDurationMs: 5000, reconcileIntervalMs: 0 },
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ rawBody: true, logger: ['error'] });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    service = app.get(WorkflowService);
  });

  after(async () => {
    if (!closed) await app?.close();
    await redis?.stop();
  });

  it('resumes a webhook over HTTP with the exact JSON bytes (202) and the run completes', async () => {
    const run = await service.start(echoWebhook, []);
    const token = await hookToken(service, run);
    const info = await service.getHookByToken<{ kind: string }>(token);
    expect(info).to.include({ runId: run.runId, isWebhook: true });
    expect(info.metadata).to.deep.equal({ kind: 'echo' });

    const raw = '{"a": 1,   "list":[2, 3]}';
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${encodeURIComponent(token)}?x=1`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-custom': 'yes' },
      body: raw,
    });
    expect(res.status).to.equal(202);
    const result = await run.returnValue;
    expect(result).to.include({ method: 'POST', contentType: 'application/json', custom: 'yes', body: raw });
    expect(result.url).to.match(/\/\.well-known\/workflow\/v1\/webhook\//);
    expect((await service.getRun(run.runId).status)).to.equal('completed');
  });

  it('passes a form body Nest parsed byte for byte (rawBody: true)', async () => {
    const run = await service.start(echoWebhook, []);
    const token = await hookToken(service, run);
    const raw = 'a=1&b%5Bc%5D=x+y&a=2&empty=&%C3%A9=%E2%82%AC';
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: raw,
    });
    expect(res.status).to.equal(202);
    expect(await run.returnValue).to.include({ contentType: 'application/x-www-form-urlencoded', body: raw });
  });

  it('reads bodies Nest does not parse (text/plain) from the request stream', async () => {
    const run = await service.start(echoWebhook, []);
    const token = await hookToken(service, run);
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${token}`, {
      method: 'PUT',
      headers: { 'content-type': 'text/plain' },
      body: 'plain text body',
    });
    expect(res.status).to.equal(202);
    expect(await run.returnValue).to.include({ method: 'PUT', contentType: 'text/plain', body: 'plain text body' });
  });

  it("writes back the response a step sends for a 'manual' webhook", async () => {
    const run = await service.start(manualWebhook, []);
    const token = await hookToken(service, run);
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${token}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ n: 21 }),
    });
    expect(res.status).to.equal(201);
    expect(res.headers.get('x-from')).to.equal('step');
    expect(await res.json()).to.deep.equal({ doubled: 42 });
    expect(await run.returnValue).to.equal(21);
  });

  it('answers 404 for an unknown token and 400 for a malformed one', async () => {
    const unknown = await fetch(`${base}/.well-known/workflow/v1/webhook/nest-no-such-token`, { method: 'POST', body: 'x' });
    expect(unknown.status).to.equal(404);
    await unknown.body?.cancel();
    const tooLong = await fetch(`${base}/.well-known/workflow/v1/webhook/${'t'.repeat(300)}`, { method: 'POST', body: 'x' });
    expect(tooLong.status).to.equal(400);
    await tooLong.body?.cancel();
  });

  it('resumeHooks through the service resumes every hook of a tag', async () => {
    const runs = await Promise.all(['a', 'b', 'c'].map((id) => service.start(tagged, [id])));
    for (const run of runs) await hookToken(service, run);
    const resumed = await service.resumeHooks({ tag: 'nest-batch' }, { go: 'now' });
    expect(resumed.map((h) => h.runId).sort()).to.deep.equal(runs.map((r) => r.runId).sort());
    expect(await Promise.all(runs.map((r) => r.returnValue))).to.deep.equal(['a:now', 'b:now', 'c:now']);
    expect(await service.resumeHooks({ tag: 'nest-batch' }, { go: 'again' })).to.deep.equal([]);
  });

  it('answers 404 for a plain hook token on the webhook route; resumeHook through the service resumes it', async () => {
    const run = await service.start(approval, ['o1']);
    const token = await hookToken(service, run);
    expect(token).to.equal('nest-approval:o1');

    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ approved: true }),
    });
    expect(res.status).to.equal(404);
    await res.body?.cancel();
    expect((await service.getHookByToken(token)).isWebhook).to.equal(false);

    const info = await service.resumeHook(token, { approved: true });
    expect(info).to.include({ runId: run.runId, token, isWebhook: false });
    expect(await run.returnValue).to.deep.equal({ orderId: 'o1', approved: true });

    const page = await service.listRuns({ workflowName: 'nest-approval', status: 'completed' });
    expect(page.data.map((r) => r.runId)).to.include(run.runId);
  });

  it('app.close() drains the worker and closes every Redis connection', async () => {
    const worker = service.worker;
    expect(worker, 'worker started on module init').to.not.equal(undefined);
    let closeCalls = 0;
    const close = worker!.close.bind(worker);
    (worker as { close(): Promise<void> }).close = async () => {
      closeCalls++;
      await close();
    };
    expect(socketsTo(redis.port)).to.not.be.empty;

    await app.close();
    closed = true;
    expect(closeCalls).to.equal(1);
    if (redis.pid !== undefined) {
      // A private server: no other suite talks to this port.
      await waitFor(() => socketsTo(redis.port).length === 0, { timeoutMs: 5000, what: 'Redis sockets to close' });
    }
  });
});

describe('workflow-redis/nest: forRootAsync, app without rawBody', () => {
  const CONFIG = Symbol('config');
  const logs: { level: string; message: unknown; context?: string }[] = [];
  const record = (level: string) => (message: unknown, ...rest: unknown[]) =>
    void logs.push({ level, message, context: typeof rest.at(-1) === 'string' ? (rest.at(-1) as string) : undefined });
  const capture: LoggerService = { log: record('log'), error: record('error'), warn: record('warn'), debug: record('debug'), verbose: record('verbose') };
  let redis: TestRedis;
  let app: INestApplication;
  let service: WorkflowService;
  let base: string;

  before(async () => {
    redis = await startRedis();
    class ConfigModule {}
    Module({ providers: [{ provide: CONFIG, useValue: { url: redis.url, prefix: uniquePrefix('nest-async') } }], exports: [CONFIG] })(ConfigModule);
    const moduleRef = await Test.createTestingModule({
      imports: [
        WorkflowModule.forRootAsync({
          imports: [ConfigModule],
          inject: [CONFIG],
          useFactory: (cfg: { url: string; prefix: string }) => ({
            connection: cfg.url,
            prefix: cfg.prefix,
            maxPayloadBytes: 2000,
            maxPayloadDepth: 8,
            webhookResponseTimeoutMs: 300,
            workflows: [echoWebhook, silentManual],
            worker: { lockDurationMs: 5000, reconcileIntervalMs: 0 },
          }),
        }),
      ],
    }).compile();
    app = moduleRef.createNestApplication({ logger: capture });
    await app.listen(0, '127.0.0.1');
    base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
    service = app.get(WorkflowService);
  });

  after(async () => {
    await app?.close();
    await redis?.stop();
  });

  async function send(init: RequestInit): Promise<{ status: number; result: Awaited<ReturnType<typeof echoWebhook.fn>> }> {
    const run = await service.start(echoWebhook, []);
    const token = await hookToken(service, run);
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${token}`, init);
    await res.body?.cancel();
    return { status: res.status, result: await run.returnValue };
  }

  it('refuses JSON and form bodies Nest parsed without rawBody (500 with the advice, nothing written); other types still arrive', async () => {
    for (const [type, body] of [
      ['application/json', '{"a": 1,  "b": [true]}'],
      ['application/x-www-form-urlencoded', 'a=1&b%5Bc%5D=x%20y'],
    ]) {
      const run = await service.start(echoWebhook, []);
      const token = await hookToken(service, run);
      const url = `${base}/.well-known/workflow/v1/webhook/${token}`;
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': type! }, body });
      expect(res.status, type).to.equal(500);
      const answer = (await res.json()) as { message: string };
      expect(answer.message).to.include('NestFactory.create(AppModule, { rawBody: true })').and.not.include(token);
      expect((await run.events()).map((e) => e.type), 'nothing written').not.to.include('hook_received');
      // The webhook is still live: a body Nest does not parse is read from the stream, byte for byte.
      const raw = `${body}  \r\n`;
      const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain; charset=utf-8' }, body: raw });
      expect(ok.status).to.equal(202);
      expect((await run.returnValue).body).to.equal(raw);
    }
    const lines = logs.filter((l) => l.level === 'error' && l.context === 'WorkflowWebhookController');
    expect(lines.map((l) => l.message), 'logged once per process').to.deep.equal([
      'The webhook body was already parsed by Nest, which did not keep its exact bytes; nothing was delivered. ' +
        'Create the app with NestFactory.create(AppModule, { rawBody: true }).',
    ]);
  });

  it('an empty JSON body is no body', async () => {
    const got = await send({ method: 'POST', headers: { 'content-type': 'application/json', 'content-length': '0' }, body: '' });
    expect(got.status).to.equal(202);
    expect(got.result.body).to.equal('');
  });

  it('passes a GET without a body', async () => {
    const got = await send({ method: 'GET', headers: { 'x-custom': 'get' } });
    expect(got.status).to.equal(202);
    expect(got.result).to.include({ method: 'GET', custom: 'get', body: '' });
  });

  it('passes maxPayloadDepth to the runtime: a payload one level deeper is refused before the token is looked up', async () => {
    let deep: unknown = 'leaf';
    for (let i = 0; i < 9; i++) deep = [deep];
    const err = await service.resumeHook('any-token', deep).then(() => undefined, (e: Error) => e);
    expect(err?.name).to.equal('SerializationError');
    expect(err?.message).to.include('nested more than 8 levels deep');
  });

  it('answers 413 for a body over maxPayloadBytes, streamed or parsed', async () => {
    const run = await service.start(echoWebhook, []);
    const token = await hookToken(service, run);
    const url = `${base}/.well-known/workflow/v1/webhook/${token}`;
    const streamed = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x'.repeat(5000) });
    expect(streamed.status).to.equal(413);
    await streamed.body?.cancel();
    const chunked = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: new Blob(['z'.repeat(3000), 'z'.repeat(3000)]).stream(),
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status, 'chunked body without content-length').to.equal(413);
    await chunked.body?.cancel();
    const parsed = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ s: 'y'.repeat(5000) }) });
    expect(parsed.status).to.equal(413);
    await parsed.body?.cancel();
    // Nothing was delivered: the hook still takes a small request.
    const ok = await fetch(url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'small' });
    expect(ok.status).to.equal(202);
    expect((await run.returnValue).body).to.equal('small');
  });

  it("answers 504 when a 'manual' webhook does not respond in time (the payload is still delivered)", async () => {
    const run = await service.start(silentManual, []);
    const token = await hookToken(service, run);
    const res = await fetch(`${base}/.well-known/workflow/v1/webhook/${token}`, { method: 'DELETE' });
    expect(res.status).to.equal(504);
    await res.body?.cancel();
    expect(await run.returnValue).to.equal('DELETE');
  });
});

describe('workflow-redis/nest: webhookController: false', () => {
  it('does not register the webhook route', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [WorkflowModule.forRoot({ prefix: uniquePrefix('nest-noctl'), webhookController: false })],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const base = `http://127.0.0.1:${(app.getHttpServer().address() as AddressInfo).port}`;
      const res = await fetch(`${base}/.well-known/workflow/v1/webhook/abc`, { method: 'POST' });
      expect(res.status).to.equal(404);
      expect(((await res.json()) as { message: string }).message).to.match(/Cannot POST/);
      expect(app.get(WorkflowService).worker).to.equal(undefined);
    } finally {
      await app.close();
    }
  });
});
