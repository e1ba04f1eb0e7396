/**
 * workflow-redis/express: `POST /hooks/resume-by-tag`, the operator's
 * fan-out route, against a real Redis and an in-process worker.
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { createHook, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, start } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { jsonOf, postJson, serve, type Served } from './_util.js';

const tagged = defineWorkflow('express-tags.wait', async (token: string, tag: string) => await createHook<unknown>({ token, tags: [tag] }));
const auth: RequestHandler = (req, res, next) => (req.get('x-operator') === 'yes' ? next() : void res.status(401).json({ error: 'Unauthorized' }));
const OP = { 'x-operator': 'yes' };

describe('express: POST /hooks/resume-by-tag', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  let open: Served;
  let closed: Served;

  before(async () => {
    redis = await startRedis();
    const prefix = uniquePrefix('express-tags');
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [tagged], connection: redis.url, prefix });
    const a = express();
    a.use(workflowRouter({ auth, logger: () => undefined }));
    open = await serve(a);
    const b = express();
    b.use(workflowRouter({ logger: () => undefined }));
    closed = await serve(b);
  });
  after(async () => {
    await open?.close();
    await closed?.close();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('resumes every live hook with the tag (behind auth) and answers the runs and hook ids; no tokens in the answer', async () => {
    const runs = await Promise.all([1, 2, 3].map((i) => start(tagged, [`xt-${i}`, 'batch:7'])));
    await waitFor(async () => (await Promise.all([1, 2, 3].map((i) => getHookByToken(`xt-${i}`).catch(() => null)))).every(Boolean), { what: '3 tagged hooks' });
    const res = await jsonOf(await postJson(`${open.url}/hooks/resume-by-tag`, { tag: 'batch:7', data: { ok: true } }, OP));
    expect(res.status).to.equal(200);
    expect(res.body.resumed).to.equal(3);
    expect(res.body.hooks.map((h: { runId: string }) => h.runId).sort()).to.deep.equal(runs.map((r) => r.runId).sort());
    expect(JSON.stringify(res.body)).to.not.include('xt-');
    for (const r of runs) expect(await r.returnValue).to.deep.equal({ ok: true });
    const none = await jsonOf(await postJson(`${open.url}/hooks/resume-by-tag`, { tag: 'batch:7', data: 1 }, OP));
    expect(none).to.deep.equal({ status: 200, body: { resumed: 0, hooks: [] } });
  });

  it('400 for a bad tag, limit or body, and for more hooks than maxHooks (nothing written); 401 / 403 without auth', async () => {
    await Promise.all([1, 2].map((i) => start(tagged, [`xm-${i}`, 'two'])));
    await waitFor(async () => (await Promise.all([1, 2].map((i) => getHookByToken(`xm-${i}`).catch(() => null)))).every(Boolean), { what: '2 tagged hooks' });
    for (const body of [{ data: 1 }, { tag: '' }, { tag: 42 }, { tag: 'x'.repeat(129) }, { tag: 'two', maxHooks: 'x' }, { tag: 'two', maxHooks: 0 }, [1]]) {
      const r = await jsonOf(await postJson(`${open.url}/hooks/resume-by-tag`, body, OP));
      expect(r.status, JSON.stringify(body)).to.equal(400);
    }
    const tooMany = await jsonOf(await postJson(`${open.url}/hooks/resume-by-tag`, { tag: 'two', data: 1, maxHooks: 1 }, OP));
    expect(tooMany.status).to.equal(400);
    expect(tooMany.body.error).to.include('maxHooks');
    expect((await postJson(`${open.url}/hooks/resume-by-tag`, { tag: 'two', data: 1 })).status).to.equal(401);
    expect((await postJson(`${closed.url}/hooks/resume-by-tag`, { tag: 'two', data: 1 }, OP)).status).to.equal(403);
    // Nothing reached the two hooks.
    for (const i of [1, 2]) expect((await getHookByToken(`xm-${i}`)).tags).to.deep.equal(['two']);
  });
});
