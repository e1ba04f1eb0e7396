/**
 * workflow-redis/express: the BullMQ dashboard is mounted only behind the
 * app's auth middleware (its own, or the router's `auth`) or an explicit
 * `dashboard.unsafeNoAuth`, lists the two queues of every workflow version
 * with runs or workers (a new one appears without a restart), and builds its
 * URLs from where the router is mounted.
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { workflowRouter, type WorkflowRouterOptions } from 'workflow-redis/express';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { jsonOf, serve, type Served } from './_util.js';

const dashV1 = defineWorkflow('dash.flow', async () => 1, { version: '1' });
const dashV2 = defineWorkflow('dash.flow', async () => 2, { version: '2' });
const later = defineWorkflow('dash.later', async () => 3);

/** The queues of dash.flow@1 and @2, which the suite's runs use. */
const FLOW_QUEUES = ['steps/dash.flow@1', 'steps/dash.flow@2', 'workflows/dash.flow@1', 'workflows/dash.flow@2'];

describe('express: BullMQ dashboard', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  const servers: Served[] = [];
  const logged: unknown[] = [];
  const logger = (...args: unknown[]) => void logged.push(args);

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix: uniquePrefix('xdash') });
    // No worker runs here: the runs wait in their version's queue, which the dashboard lists.
    await start(dashV1, []);
    await start(dashV2, []);
  });
  after(async () => {
    for (const s of servers) await s.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  /** Serves a fresh app with the router mounted at `mount`. */
  async function appWith(opts: WorkflowRouterOptions, mount = '/'): Promise<string> {
    const app = express();
    app.use(mount, workflowRouter({ logger, ...opts }));
    const s = await serve(app);
    servers.push(s);
    return s.url + (mount === '/' ? '' : mount);
  }

  it('is not mounted without auth: no option, or dashboard options without auth → 404, and one warning says why', async () => {
    const cases = [{ dashboard: {} }, { dashboard: { path: '/ops' } }, { dashboard: { unsafeNoAuth: false } }, { unsafeNoAuth: true, dashboard: {} }];
    for (const opts of [{}, ...cases] as WorkflowRouterOptions[]) {
      logged.length = 0;
      const url = await appWith(opts);
      expect((await fetch(`${url}/admin/queues`)).status, JSON.stringify(opts)).to.equal(404);
      expect((await fetch(`${url}/admin/queues/api/queues`)).status).to.equal(404);
      expect((await fetch(`${url}/ops`)).status).to.equal(404);
      const warnings = logged.filter((l) => (l as string[])[0] === 'warn' && /dashboard is not mounted/.test((l as string[])[1]!));
      expect(warnings, JSON.stringify(opts)).to.have.length(opts.dashboard ? 1 : 0);
      expect(logged.every((l) => (l as string[])[0] === 'warn'), 'only start-up warnings').to.equal(true);
    }
    logged.length = 0;
  });

  it('the top-level `auth` guards it when `dashboard.auth` is not given', async () => {
    const auth: RequestHandler = (req, res, next) => (req.get('x-op') === 'yes' ? next() : void res.status(401).send('no'));
    const url = await appWith({ auth, dashboard: {} });
    expect((await fetch(`${url}/admin/queues`)).status).to.equal(401);
    expect((await fetch(`${url}/admin/queues`, { headers: { 'x-op': 'yes' } })).status).to.equal(200);
    expect(logged, 'no warning: everything is behind auth').to.deep.equal([]);
  });

  it('unsafeNoAuth: true mounts it; its API lists the replay and step queues of each workflow version, a new one too', async () => {
    const url = await appWith({ dashboard: { unsafeNoAuth: true } });
    const page = await fetch(`${url}/admin/queues`);
    expect(page.status).to.equal(200);
    const html = await page.text();
    expect(html).to.include('<base href="/admin/queues/"');
    const api = await jsonOf(await fetch(`${url}/admin/queues/api/queues`));
    expect(api.status).to.equal(200);
    expect(api.body.queues.map((q: any) => q.name).sort()).to.deep.equal(FLOW_QUEUES);
    const waiting = api.body.queues.find((q: any) => q.name === 'workflows/dash.flow@2');
    expect(waiting.counts.waiting ?? waiting.counts.wait, 'the run waiting for a worker is visible').to.equal(1);
    await start(later, []);
    const again = await jsonOf(await fetch(`${url}/admin/queues/api/queues`));
    expect(again.body.queues.map((q: any) => q.name).sort()).to.deep.equal([...FLOW_QUEUES, 'steps/dash.later@1', 'workflows/dash.later@1'].sort());
  });

  it('an auth middleware that rejects → 401 on the page and the API; one that accepts → 200', async () => {
    const auth: RequestHandler = (req, res, next) => {
      if (req.get('authorization') === 'Basic b3A6c2VjcmV0') return next();
      res.set('WWW-Authenticate', 'Basic realm="ops"').status(401).send('Authentication required');
    };
    const url = await appWith({ dashboard: { auth, path: '/ops/queues' } });
    const denied = await fetch(`${url}/ops/queues`);
    expect(denied.status).to.equal(401);
    expect(denied.headers.get('www-authenticate')).to.include('Basic');
    expect((await fetch(`${url}/ops/queues/api/queues`)).status).to.equal(401);

    const headers = { authorization: 'Basic b3A6c2VjcmV0' };
    expect((await fetch(`${url}/ops/queues`, { headers })).status).to.equal(200);
    const api = await jsonOf(await fetch(`${url}/ops/queues/api/queues`, { headers }));
    expect(api.status).to.equal(200);
    expect(api.body.queues.map((q: any) => q.name)).to.include.members(FLOW_QUEUES);
    expect((await fetch(`${url}/admin/queues`, { headers })).status, 'only at the configured path').to.equal(404);
  });

  it('an auth middleware that throws → the router’s error mapping (500, generic message)', async () => {
    const url = await appWith({ unsafeNoAuth: true, dashboard: { auth: () => { throw new Error('auth backend down'); } } });
    logged.length = 0;
    const res = await jsonOf(await fetch(`${url}/admin/queues`));
    expect(res).to.deep.equal({ status: 500, body: { error: 'Internal server error' } });
    expect(logged).to.have.length(1);
    const [level, , fields] = logged[0] as [string, string, Record<string, unknown>];
    expect(level).to.equal('error');
    expect(fields).to.deep.include({ method: 'GET', error: 'Error' });
    expect(JSON.stringify(fields), 'no URL in the log').not.to.include('/admin/queues');
    expect(JSON.stringify(logged), 'no error message in the log: it could quote request data').not.to.include('auth backend down');
    logged.length = 0;
  });

  it('under a prefix, its base path includes the mount path, and its assets load', async () => {
    const url = await appWith({ dashboard: { unsafeNoAuth: true } }, '/wf');
    const html = await (await fetch(`${url}/admin/queues`)).text();
    expect(html).to.include('<base href="/wf/admin/queues/"');
    const api = await jsonOf(await fetch(`${url}/admin/queues/api/queues`));
    expect(api.body.queues.map((q: any) => q.name)).to.include.members(FLOW_QUEUES);
    const css = /href="(static\/css\/[^"]+\.css)"/.exec(html)?.[1];
    expect(css, 'a stylesheet link').to.be.a('string');
    const asset = await fetch(`${url}/admin/queues/${css}`);
    expect(asset.status).to.equal(200);
    expect(asset.headers.get('content-type')).to.match(/css/);
  });

  it('the inspector links to the dashboard only when it is mounted', async () => {
    const withDash = await appWith({ unsafeNoAuth: true, dashboard: { unsafeNoAuth: true } }, '/wf');
    expect(await (await fetch(`${withDash}/inspector`)).text()).to.include('href="/wf/admin/queues"');
    const without = await appWith({ unsafeNoAuth: true });
    expect(await (await fetch(`${without}/inspector`)).text()).not.to.include('BullMQ dashboard');
  });
});
