/**
 * Deploys (issue 12): jobs go only to workers that register the run's
 * workflow version. Real worker processes (fixtures/worker-main.ts with
 * WORKFLOW_SET), one Redis, runs started from this process:
 * - two services with disjoint workflow sets: every run and step ran on the
 *   worker that registers it, nothing failed;
 * - a run no worker registers waits, visibly (getRun, GET /runs/:id), and goes
 *   on when such a worker starts;
 * - a rolling deploy: runs of approval@1 wait on a hook, the v1 worker stops,
 *   a v2 worker starts; new runs complete on v2; an old run resumed meanwhile
 *   waits (not failed) until a v1 worker is back, then completes with v1's code.
 */
import { expect } from 'chai';
import express from 'express';
import { configure, getRun, listRuns, resumeHook, start, type Run } from 'workflow-redis/api';
import { workflowRouter } from 'workflow-redis/express';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { jsonOf, serve } from '../express/_util.js';
import { approvalV1, approvalV2, billing, lonely, orders } from './fixtures/deploy-workflows.js';
import { processSuite, type WorkerProcess } from './_workers.js';

type Where = { pid: number; set: string };

describe('process: routing runs to the workers that register them', function () {
  this.timeout(120_000);
  const suite = processSuite();
  const pool = suite.pool;

  function spawnSet(prefix: string, set: string): Promise<WorkerProcess> {
    return pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 10, WORKFLOW_SET: set, RECONCILE_MS: 1000 });
  }

  /** Stops a worker the way a deploy does (SIGTERM, drain) and waits for it to exit. */
  async function stop(w: WorkerProcess): Promise<void> {
    w.signal('SIGTERM');
    const { code } = await w.exited;
    expect(code, 'the worker drained and exited 0').to.equal(0);
  }

  /** Asserts, every 250 ms for `ms`, that the run stays in `status` and says it waits for a worker of `route`. */
  async function staysWaiting(run: Run, status: string, route: string, ms: number): Promise<void> {
    const until = Date.now() + ms;
    let checks = 0;
    while (Date.now() < until || checks === 0) {
      const info = await run.info();
      expect(info.status, `run ${run.runId} after ${checks} checks`).to.equal(status);
      expect(info.waitingFor).to.equal(`waiting for a worker that registers ${route}`);
      checks++;
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** The token of the run's hook, once the run waits on it. */
  async function waitsOnHook(run: Run): Promise<void> {
    await waitFor(async () => (await run.events()).some((e) => e.type === 'hook_created'), { what: `${run.runId} to wait on its hook`, timeoutMs: 20_000 });
  }

  it('two services with disjoint workflows: 50 runs of each complete, every step on the worker that registers its workflow', async () => {
    const prefix = uniquePrefix('route');
    configure({ connection: suite.redis.url, prefix });
    const [ordersWorker, billingWorker] = await Promise.all([spawnSet(prefix, 'orders'), spawnSet(prefix, 'billing')]);
    const N = 50;
    const runs = await Promise.all(
      Array.from({ length: N }, (_, i) => [start(orders, [i]), start(billing, [i])]).flat(),
    );
    const values = (await Promise.all(runs.map((r) => r.returnValue))) as { steps: (Where & { i: number })[] }[];
    for (const [i, run] of runs.entries()) {
      const info = await run.info();
      expect(info.status, run.runId).to.equal('completed');
      const expected = info.workflowName === orders.workflowName ? ordersWorker : billingWorker;
      for (const step of values[i]!.steps) expect(step.pid, `${info.workflowName} ${run.runId}`).to.equal(expected.pid);
      const events = await run.events();
      expect(events.filter((e) => e.type === 'step_failed' || e.type === 'step_retrying' || e.type === 'run_failed'), run.runId).to.deep.equal([]);
      // Each run was replayed only by its own worker: every step result recorded once.
      expect(events.filter((e) => e.type === 'step_completed')).to.have.length(2);
    }
    expect((await listRuns({ status: 'failed' })).data).to.deep.equal([]);
    for (const w of [ordersWorker, billingWorker]) {
      expect(w.stderr(), 'no job failed on either worker').to.not.match(/job failed|WorkflowNotRegisteredError/);
    }
  });

  it('a run of a workflow no worker registers waits, visibly, and completes once a worker that registers it starts', async () => {
    const prefix = uniquePrefix('route-wait');
    configure({ connection: suite.redis.url, prefix });
    // A worker of another workflow is up: it must not take (and fail) the run.
    const other = await spawnSet(prefix, 'orders');
    const run = await start(lonely, [7]);
    const app = express();
    app.use('/wf', workflowRouter({ unsafeNoAuth: true }));
    const server = await serve(app);
    try {
      await staysWaiting(run, 'pending', 'deploy.lonely@1', 10_000);
      const { status, body } = await jsonOf(await fetch(`${server.url}/wf/runs/${run.runId}`));
      expect(status).to.equal(200);
      expect(body).to.deep.include({ status: 'pending', version: '1', waitingFor: 'waiting for a worker that registers deploy.lonely@1' });
      const page = await jsonOf(await fetch(`${server.url}/wf/runs?workflowName=deploy.lonely&version=1`));
      expect(page.body.data.map((r: { runId: string; waitingFor?: string }) => [r.runId, r.waitingFor])).to.deep.equal([
        [run.runId, 'waiting for a worker that registers deploy.lonely@1'],
      ]);

      const lonelyWorker = await spawnSet(prefix, 'lonely');
      const value = (await run.returnValue) as { i: number; ran: Where };
      expect(value.i).to.equal(7);
      expect(value.ran.pid).to.equal(lonelyWorker.pid);
      const info = await getRun(run.runId).info();
      expect(info.status).to.equal('completed');
      expect(info.waitingFor).to.equal(undefined);
      expect(other.stderr()).to.not.match(/job failed|WorkflowNotRegisteredError/);
    } finally {
      await server.close();
    }
  });

  it('a rolling deploy: old runs finish on v1 (waiting while no v1 worker is up), new runs run v2', async () => {
    const prefix = uniquePrefix('route-deploy');
    configure({ connection: suite.redis.url, prefix });
    const v1 = await spawnSet(prefix, 'approval-v1');
    const old = await Promise.all([0, 1, 2].map((i) => start(approvalV1, [`${prefix}:old:${i}`])));
    for (const run of old) await waitsOnHook(run);
    expect((await old[0]!.info()).version).to.equal('1');

    // The deploy: v1 goes, v2 comes.
    await stop(v1);
    const v2 = await spawnSet(prefix, 'approval-v2');
    const fresh = await Promise.all([0, 1].map((i) => start(approvalV2, [`${prefix}:new:${i}`])));
    for (const run of fresh) await waitsOnHook(run);
    await Promise.all(fresh.map((_, i) => resumeHook(`${prefix}:new:${i}`, { ok: true })));
    for (const run of fresh) {
      expect(await run.returnValue).to.deep.include({ version: 'v2', pre: 'pre-check', decision: 'approved', pid: v2.pid });
    }

    // An old run resumed while only v2 runs: it waits for a v1 worker, it does not fail.
    await resumeHook(`${prefix}:old:0`, { ok: false });
    await staysWaiting(old[0]!, 'running', 'deploy.approval@1', 3000);
    expect((await old[0]!.events()).map((e) => e.type)).to.not.include('run_failed');
    const byVersion = await listRuns({ workflowName: 'deploy.approval', version: '1', status: 'running' });
    expect(byVersion.data.map((r) => r.runId).sort(), 'the v1 runs still in flight').to.deep.equal(old.map((r) => r.runId).sort());
    expect((await listRuns({ workflowName: 'deploy.approval', version: '2' })).data.map((r) => r.version)).to.deep.equal(['2', '2']);

    // A v1 worker is back: the resumed run completes with v1's code; the others follow when resumed.
    const v1again = await spawnSet(prefix, 'approval-v1');
    expect(await old[0]!.returnValue).to.deep.include({ version: 'v1', decision: 'rejected', pid: v1again.pid });
    await Promise.all([1, 2].map((i) => resumeHook(`${prefix}:old:${i}`, { ok: true })));
    for (const run of old.slice(1)) expect(await run.returnValue).to.deep.include({ version: 'v1', decision: 'approved' });
    expect((await listRuns({ workflowName: 'deploy.approval', version: '1', status: 'running' })).data, 'no v1 run left: its workers may go').to.deep.equal([]);
    expect(v2.stderr()).to.not.match(/job failed|NondeterminismError|WorkflowNotRegisteredError/);
  });

  it('one worker registers two versions of a workflow side by side: each run replays with its own version\'s code', async () => {
    const prefix = uniquePrefix('route-both');
    configure({ connection: suite.redis.url, prefix });
    const both = await spawnSet(prefix, 'approval-both');
    const [a, b] = await Promise.all([start(approvalV1, [`${prefix}:a`]), start(approvalV2, [`${prefix}:b`])]);
    await Promise.all([waitsOnHook(a!), waitsOnHook(b!)]);
    await Promise.all([resumeHook(`${prefix}:a`, { ok: true }), resumeHook(`${prefix}:b`, { ok: true })]);
    expect(await a!.returnValue).to.deep.include({ version: 'v1', decision: 'approved', pid: both.pid });
    expect(await b!.returnValue).to.deep.include({ version: 'v2', pre: 'pre-check', decision: 'approved', pid: both.pid });
    expect(both.stderr()).to.not.match(/job failed|NondeterminismError/);
  });
});
