/**
 * workflow-redis/express: run status, event log pagination, listing, the
 * inspector's timeline route, cancel, the `auth` guard, and mounting under a
 * prefix next to the app's own routes.
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { createHook, defineStep, defineWorkflow, RetryableError } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { jsonOf, postJson, serve, type Served } from './_util.js';

const N = 'express-runs';

const attemptsById = new Map<string, number>();
const flaky = defineStep(`${N}.flaky`, async (id: string) => {
  const n = (attemptsById.get(id) ?? 0) + 1;
  attemptsById.set(id, n);
  if (n < 2) throw new RetryableError('not yet', { retryAfter: 10 });
  return n;
});
const double = defineStep(`${N}.double`, async (n: number) => n * 2);

const twoSteps = defineWorkflow(`${N}.two-steps`, async (id: string) => {
  const a = await flaky(id);
  const b = await double(a);
  return { a, b, at: new Date(0), big: 10n, tags: new Set(['x']) };
});
const waiting = defineWorkflow(`${N}.waiting`, async (id: string) => createHook<string>({ token: `xw:${id}` }));
const failing = defineWorkflow(`${N}.failing`, async () => {
  throw new Error('<b>boom</b>');
});

const operatorOnly: RequestHandler = (req, res, next) => {
  if (req.get('authorization') === 'Bearer operator') return next();
  res.status(401).json({ error: 'Unauthorized' });
};

describe('express: run routes', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  let server: Served;
  let guarded: Served;
  const prefix = uniquePrefix('xruns');
  let doneRunId: string;

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [twoSteps, waiting, failing], connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    const app = express();
    app.use(express.json()); // the app's own parser: the router must not get in its way
    app.get('/before', (_req, res) => void res.send('before'));
    app.use('/wf', workflowRouter({ unsafeNoAuth: true, logger: () => undefined }));
    app.post('/after', (req, res) => void res.json({ echo: req.body }));
    server = await serve(app);
    const g = express();
    g.use(workflowRouter({ auth: operatorOnly }));
    guarded = await serve(g);
    const run = await start(twoSteps, ['done']);
    await run.returnValue;
    doneRunId = run.runId;
  });
  after(async () => {
    await server?.close();
    await guarded?.close();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  const get = (path: string) => fetch(`${server.url}/wf${path}`).then(jsonOf);

  it('GET /runs/:runId → status, timestamps and the output as plain JSON', async () => {
    const { status, body } = await get(`/runs/${doneRunId}`);
    expect(status).to.equal(200);
    expect(body).to.include({ runId: doneRunId, workflowName: `${N}.two-steps`, status: 'completed' });
    for (const k of ['createdAt', 'startedAt', 'completedAt']) expect(Date.parse(body[k]), k).to.be.a('number').and.not.NaN;
    expect(body.output).to.deep.equal({ a: 2, b: 4, at: '1970-01-01T00:00:00.000Z', big: '10', tags: ['x'] });
  });

  it('GET /runs/:runId of a failed run → the error message, without its stack', async () => {
    const run = await start(failing, []);
    await run.returnValue.catch(() => undefined);
    const { body } = await get(`/runs/${run.runId}`);
    expect(body.status).to.equal('failed');
    expect(body.error).to.deep.equal({ name: 'Error', message: '<b>boom</b>' });
    expect(body).not.to.have.property('output');
  });

  it('404 for an unknown run, 400 for an invalid run id, on every run route', async () => {
    for (const path of ['/runs/wrun_nope', '/runs/wrun_nope/events', '/runs/wrun_nope/events?after=1-0', '/runs/wrun_nope/timeline']) {
      expect(await get(path), path).to.deep.equal({ status: 404, body: { error: 'Workflow run "wrun_nope" not found' } });
    }
    expect((await postJson(`${server.url}/wf/runs/wrun_nope/cancel`, {}).then(jsonOf)).status).to.equal(404);
    for (const id of ['12345', 'bad%20id', 'x'.repeat(200)]) {
      const r = await get(`/runs/${id}`);
      expect(r.status, id).to.equal(400);
      expect(r.body.error).to.match(/Invalid run id/);
      expect((await get(`/runs/${id}/events`)).status).to.equal(400);
    }
  });

  it('GET /runs/:runId/events pages through the whole log with cursor and hasMore', async () => {
    const all = await get(`/runs/${doneRunId}/events?limit=1000`);
    expect(all.body.hasMore).to.equal(false);
    const types = all.body.data.map((e: any) => e.type);
    expect(types[0]).to.equal('run_created');
    expect(types.at(-1)).to.equal('run_completed');
    expect(types.filter((t: string) => t === 'step_retrying')).to.have.length(1);

    const paged: any[] = [];
    let after = '';
    for (let i = 0; i < 50; i++) {
      const page = await get(`/runs/${doneRunId}/events?limit=3${after ? `&after=${after}` : ''}`);
      expect(page.status).to.equal(200);
      expect(page.body.data.length).to.be.at.most(3);
      paged.push(...page.body.data);
      if (!page.body.hasMore) {
        expect(page.body.cursor).to.equal(paged.at(-1).eventId);
        break;
      }
      expect(page.body.cursor).to.equal(page.body.data.at(-1).eventId);
      after = page.body.cursor;
    }
    expect(paged).to.deep.equal(all.body.data);
    // Past the end: an empty page that keeps the cursor, for polling a live run.
    const end = await get(`/runs/${doneRunId}/events?after=${after || paged.at(-1).eventId}&limit=1000`);
    expect(end.status).to.equal(200);
    expect(end.body.hasMore).to.equal(false);
  });

  it('400 for bad events / list query parameters', async () => {
    const eventQueries = ['after=garbage', 'after=1-0-0', 'after=99999999999999999999-0', 'after=0-18446744073709551616', 'after=01-0', 'limit=0', 'limit=1001', 'limit=abc', 'limit=1e2', 'limit=1&limit=2'];
    for (const q of eventQueries) {
      const r = await get(`/runs/${doneRunId}/events?${q}`);
      expect(r.status, q).to.equal(400);
      expect(r.body.error, q).to.match(/^Query parameter "(after|limit)"/);
    }
    const listQueries = ['status=bogus', 'limit=-1', 'cursor=abc', 'cursor=1e21', 'cursor=9007199254740992', 'cursor=-1', 'cursor=0x10', 'cursor=%201', 'status=running&status=failed', 'workflowName=' + 'w'.repeat(201), 'workflowName=a%20b',
      'workflowName=x&version=a%40b', 'workflowName=x&version=' + 'v'.repeat(65), 'version=1', 'workflowName=x&version=1&version=2'];
    for (const q of listQueries) {
      const r = await get(`/runs?${q}`);
      expect(r.status, q).to.equal(400);
      expect(r.body.error, q).to.match(/^Query parameter "(status|limit|cursor|workflowName|version)"/);
    }
    // The largest values are valid: an empty page, not a Redis error.
    expect((await get(`/runs?cursor=${Number.MAX_SAFE_INTEGER}`)).body).to.deep.equal({ data: [], cursor: null, hasMore: false });
    const last = `18446744073709551615-18446744073709551615`;
    expect((await get(`/runs/${doneRunId}/events?after=${last}`)).body).to.deep.equal({ data: [], cursor: last, hasMore: false });
  });

  it('GET /runs lists runs newest first, filtered by status and workflow, paginated', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await start(waiting, [`list-${i}-${Date.now()}`])).runId);
    const page1 = await get(`/runs?workflowName=${encodeURIComponent(`${N}.waiting`)}&limit=2`);
    expect(page1.status).to.equal(200);
    expect(page1.body.hasMore).to.equal(true);
    const page2 = await get(`/runs?workflowName=${encodeURIComponent(`${N}.waiting`)}&limit=2&cursor=${page1.body.cursor}`);
    const listed = [...page1.body.data, ...page2.body.data].map((r: any) => r.runId);
    expect(listed.slice(0, 3)).to.deep.equal([...ids].reverse());
    const done = await get(`/runs?status=completed&workflowName=${encodeURIComponent(`${N}.two-steps`)}`);
    expect(done.body.data.map((r: any) => r.runId)).to.include(doneRunId);
    expect(done.body.data.every((r: any) => r.status === 'completed')).to.equal(true);
  });

  it('GET /runs/:runId/timeline pairs step events into attempts and hides payloads', async () => {
    const { status, body } = await get(`/runs/${doneRunId}/timeline`);
    expect(status).to.equal(200);
    expect(body.run.status).to.equal('completed');
    expect(body.truncated).to.equal(false);
    const steps = body.items.filter((i: any) => i.kind === 'step');
    expect(steps.map((s: any) => [s.name, s.status, s.attempts])).to.deep.equal([
      [`${N}.flaky`, 'completed', 2],
      [`${N}.double`, 'completed', 1],
    ]);
    expect(steps[0].tries.map((t: any) => t.outcome)).to.deep.equal(['retrying', 'completed']);
    expect(steps[0].tries[0].error).to.equal('not yet');
    expect(steps[0].durationMs).to.be.a('number').at.least(0);
    expect(body.items.filter((i: any) => i.kind === 'run').map((i: any) => i.event)).to.deep.equal(['created', 'started', 'completed']);
    expect(JSON.stringify(body)).not.to.include('stack');
  });

  it('POST /runs/:runId/cancel cancels a waiting run (idempotently); 409 for a completed run', async () => {
    const id = `cancel-${Date.now()}`;
    const run = await start(waiting, [id]);
    await waitFor(async () => (await run.events()).some((e) => e.type === 'hook_created'), { what: 'hook' });
    const timeline = await get(`/runs/${run.runId}/timeline`);
    const hook = timeline.body.items.find((i: any) => i.kind === 'hook');
    expect(hook).to.include({ status: 'waiting', payloads: 0, token: `xw:${id}` });

    const first = await postJson(`${server.url}/wf/runs/${run.runId}/cancel`, {}).then(jsonOf);
    expect(first.status).to.equal(200);
    expect(first.body).to.include({ runId: run.runId, status: 'cancelled' });
    expect((await postJson(`${server.url}/wf/runs/${run.runId}/cancel`, {}).then(jsonOf)).status).to.equal(200);
    // A cross-site form post (no JSON content type) is refused.
    const form = await fetch(`${server.url}/wf/runs/${run.runId}/cancel`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'x=1' });
    expect(form.status).to.equal(400);
    const after = await get(`/runs/${run.runId}/timeline`);
    const closed = after.body.items.find((i: any) => i.kind === 'hook');
    expect(closed.status).to.equal('closed');
    expect(closed, 'a dead token is not handed out').not.to.have.property('token');
    expect((await postJson(`${server.url}/wf/hooks/resume`, { token: `xw:${id}`, data: 'late' })).status).to.equal(404);

    const done = await postJson(`${server.url}/wf/runs/${doneRunId}/cancel`, {}).then(jsonOf);
    expect(done.status).to.equal(409);
    expect(done.body.error).to.be.a('string');
  });

  it('works under a prefix and leaves the app’s other routes and body parser alone', async () => {
    expect(await (await fetch(`${server.url}/before`)).text()).to.equal('before');
    expect(await postJson(`${server.url}/after`, { a: 1 }).then(jsonOf)).to.deep.equal({ status: 200, body: { echo: { a: 1 } } });
    expect((await fetch(`${server.url}/runs/${doneRunId}`)).status, 'not mounted at the root').to.equal(404);
    const page = await fetch(`${server.url}/wf/inspector`);
    expect(page.status).to.equal(200);
    expect(page.headers.get('content-type')).to.match(/text\/html/);
    const html = await page.text();
    expect(html).to.include('"base":"/wf"');
    expect(html).to.include('"resumePath":"/hooks/resume"');
  });

  it('`auth` guards the run routes and the inspector, not the public resume and webhook routes', async () => {
    for (const path of ['/runs', `/runs/${doneRunId}`, `/runs/${doneRunId}/events`, `/runs/${doneRunId}/timeline`, '/inspector']) {
      expect((await fetch(`${guarded.url}${path}`)).status, path).to.equal(401);
      expect((await fetch(`${guarded.url}${path}`, { headers: { authorization: 'Bearer operator' } })).status, path).to.equal(200);
    }
    expect((await postJson(`${guarded.url}/runs/${doneRunId}/cancel`, {})).status).to.equal(401);
    expect((await postJson(`${guarded.url}/hooks/resume`, { token: 'nope', data: 1 })).status).to.equal(404);
    expect((await fetch(`${guarded.url}/.well-known/workflow/v1/webhook/nope`, { method: 'POST' })).status).to.equal(404);
  });
});
