/**
 * workflow-redis/express: the operator routes (runs, event logs, timeline,
 * cancel, the inspector) are closed by default (ARCHITECTURE §7.8). Without `auth`
 * they answer 403 with a message that says what to pass, and the router
 * warns once when it is built; `unsafeNoAuth: true` serves them (with one
 * warning); the resume and webhook routes stay public either way.
 */
import { expect } from 'chai';
import express, { type RequestHandler } from 'express';
import { defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, InvalidArgumentError, start } from 'workflow-redis/api';
import { workflowRouter, type WorkflowRouterOptions } from 'workflow-redis/express';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { jsonOf, postJson, serve, type Served } from './_util.js';

const pending = defineWorkflow('express-auth.pending', async () => 'never runs: no worker');

const NEED_AUTH = 'workflowRouter: operator routes need an auth middleware: pass workflowRouter({ auth }) or unsafeNoAuth: true';

describe('express: operator routes are closed by default', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let runId: string;
  const servers: Served[] = [];

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix: uniquePrefix('xauth') });
    // No worker: the run stays pending, which is all the routes need.
    runId = (await start(pending, [])).runId;
  });
  after(async () => {
    for (const s of servers) await s.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  /** Builds a router with a capturing logger, serves it, and returns its URL and what it logged while being built. */
  async function build(opts: WorkflowRouterOptions): Promise<{ url: string; logged: unknown[][] }> {
    const logged: unknown[][] = [];
    const app = express();
    app.use(workflowRouter({ ...opts, logger: (...args) => void logged.push(args) }));
    const s = await serve(app);
    servers.push(s);
    return { url: s.url, logged };
  }

  const operatorGets = () => ['/runs', `/runs/${runId}`, `/runs/${runId}/events`, `/runs/${runId}/timeline`, '/inspector'];

  it('without auth: every operator route answers 403 with how to fix it, and one start-up warning says so', async () => {
    const { url, logged } = await build({});
    expect(logged, 'logged when the router is built, before any request').to.have.length(1);
    const [level, msg] = logged[0] as [string, string];
    expect(level).to.equal('warn');
    expect(msg).to.match(/operator routes .* disabled .* 403/).and.match(/workflowRouter\(\{ auth \}\)/).and.match(/unsafeNoAuth: true/);
    for (const path of operatorGets()) {
      expect(await jsonOf(await fetch(`${url}${path}`)), path).to.deep.equal({ status: 403, body: { error: NEED_AUTH } });
    }
    expect(await postJson(`${url}/runs/${runId}/cancel`, {}).then(jsonOf)).to.deep.equal({ status: 403, body: { error: NEED_AUTH } });
    // The run was not cancelled; the public routes still answer.
    expect((await postJson(`${url}/hooks/resume`, { token: 'no-such-token', data: 1 })).status).to.equal(404);
    expect((await fetch(`${url}/.well-known/workflow/v1/webhook/no-such-token`, { method: 'POST' })).status).to.equal(404);
    expect(logged, 'no more lines while serving').to.have.length(1);
  });

  it('unsafeNoAuth: true serves them, with exactly one warning at construction', async () => {
    const { url, logged } = await build({ unsafeNoAuth: true });
    expect(logged).to.have.length(1);
    const [level, msg] = logged[0] as [string, string];
    expect(level).to.equal('warn');
    expect(msg).to.match(/unsafeNoAuth: true/).and.match(/without authentication/);
    for (const path of operatorGets()) expect((await fetch(`${url}${path}`)).status, path).to.equal(200);
    expect((await jsonOf(await fetch(`${url}/runs/${runId}`))).body).to.include({ runId, status: 'pending' });
    expect(logged).to.have.length(1);
  });

  it('with auth: no warning; the middleware decides', async () => {
    const auth: RequestHandler = (req, res, next) => (req.get('x-op') === 'yes' ? next() : void res.status(401).json({ error: 'who are you?' }));
    const { url, logged } = await build({ auth });
    expect(logged).to.deep.equal([]);
    for (const path of operatorGets()) {
      expect((await fetch(`${url}${path}`)).status, path).to.equal(401);
      expect((await fetch(`${url}${path}`, { headers: { 'x-op': 'yes' } })).status, path).to.equal(200);
    }
  });

  it('refuses contradictory or mistyped auth options with an InvalidArgumentError', () => {
    const auth: RequestHandler = (_req, _res, next) => next();
    const bad: [WorkflowRouterOptions, RegExp][] = [
      [{ auth, unsafeNoAuth: true }, /pass one of them/],
      [{ unsafeNoAuth: 'yes' as unknown as boolean }, /unsafeNoAuth.*use true/],
      [{ auth: 'admin' as unknown as RequestHandler }, /auth.*pass an Express middleware/],
      [{ logger: 'console' as unknown as WorkflowRouterOptions['logger'] }, /logger.*pass a function/],
    ];
    for (const [opts, msg] of bad) {
      expect(() => workflowRouter(opts), JSON.stringify(opts)).to.throw(InvalidArgumentError, msg);
    }
    // auth with unsafeNoAuth: false is fine.
    expect(() => workflowRouter({ auth, unsafeNoAuth: false })).not.to.throw();
  });
});
