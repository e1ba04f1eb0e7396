/**
 * ARCHITECTURE §3: a run's stream is never trimmed while the run lives; retention
 * after it ends is a setting (`configure({ retention })`). A finished run's
 * keys expire that long after its end, in the same script as the terminal
 * event, and pruneRuns.lua then drops it from the run indexes.
 */
import { expect } from 'chai';
import { defineWorkflow } from 'workflow-redis';
import { configure, getRun, listRuns, start } from 'workflow-redis/api';
import { createWorker } from 'workflow-redis/worker';
import type { Store } from '../../lib/redis/store.js';
import { getConfig } from '../../lib/runtime/config.js';
import { newRunId } from '../../lib/runtime/ids.js';
import { serialize } from '../../lib/serialization/codec.js';
import { waitFor } from '../helpers/redis.js';
import { foundationSuite, claimHook, completeRun, rejectionOf } from './helpers.js';

const kept = defineWorkflow('retention.kept', async () => 1);
const other = defineWorkflow('retention.other', async () => 2);

describe('retention of finished runs', function () {
  this.timeout(20_000);
  let store: Store;

  const suite = foundationSuite('ret');

  async function setUp(retention?: string | number) {
    store = await suite.freshStore((retention === undefined ? {} : { retention }));
  }

  /** The run's own keys (stream, record, steps, hooks, resumes). */
  const runKeys = (runId: string) => [
    store.keys.run(runId),
    store.keys.runEvents(runId),
    store.keys.runSteps(runId),
    store.keys.runHooks(runId),
    store.keys.runResumes(runId),
  ];

  async function withStepAndHook(runId: string): Promise<void> {
    const { results } = await store.commit(runId, null, [
      { t: 'step_created', c: 'step_1', d: serialize({ stepName: 's' }), n: 's', m: 'queue', i: serialize([]) },
    ]);
    expect(results[0]!.r).to.equal('ok');
    await claimHook(store, runId, `tok-${runId}`);
    await store.resumeHook(`tok-${runId}`, serialize({ payload: 1 }), `resume-${runId}`);
  }

  it('without a setting, a finished run is kept: no TTL on any of its keys', async () => {
    await setUp();
    const run = await start(kept, [], { idempotencyKey: 'keep-me' });
    await withStepAndHook(run.runId);
    await completeRun(store, run.runId);
    for (const key of runKeys(run.runId)) expect(await suite.admin.pttl(key), key).to.equal(-1);
    expect(await suite.admin.pttl(store.keys.idempotency('keep-me'))).to.equal(-1);
    expect(await suite.admin.zcard(store.keys.runsExpiring())).to.equal(0);
  });

  it('with a setting, a run that completes expires that long after its end and leaves the indexes on the next prune', async () => {
    await setUp('1s');
    const run = await start(kept, [], { idempotencyKey: 'once' });
    await withStepAndHook(run.runId);
    for (const key of runKeys(run.runId)) expect(await suite.admin.pttl(key), `${key} while the run lives`).to.equal(-1);
    await completeRun(store, run.runId);
    for (const key of runKeys(run.runId)) {
      const ttl = await suite.admin.pttl(key);
      expect(ttl, key).to.be.within(1, 1000);
    }
    expect(await suite.admin.pttl(store.keys.idempotency('once'))).to.be.within(1, 1000);
    expect(await suite.admin.zrange(store.keys.runsExpiring(), '0', '-1')).to.deep.equal([JSON.stringify([run.runId, 'retention.kept', '1'])]);
    expect(await store.pruneExpiredRuns(), 'nothing is due before the retention passed').to.equal(0);

    await waitFor(async () => (await suite.admin.exists(...runKeys(run.runId))) === 0, { what: 'the run keys to expire', timeoutMs: 5000 });
    expect(await store.pruneExpiredRuns()).to.equal(1);
    expect(await suite.admin.zscore(store.keys.runsAll(), run.runId)).to.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByStatus('completed'), run.runId)).to.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByWorkflow('retention.kept'), run.runId)).to.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByVersion(kept), run.runId), 'the version index too').to.equal(null);
    expect(await suite.admin.zcard(store.keys.runsExpiring())).to.equal(0);
    expect((await listRuns()).data.map((r) => r.runId)).to.not.include(run.runId);
    expect((await rejectionOf(getRun(run.runId).status)).name).to.equal('WorkflowRunNotFoundError');
    // The idempotency key went with the run: the same key starts a new run.
    const again = await start(kept, [], { idempotencyKey: 'once' });
    expect(again.runId).to.not.equal(run.runId);
  });

  it('a cancelled run expires too', async () => {
    await setUp(1500);
    const run = await start(kept, []);
    expect(await store.cancelRun(run.runId)).to.equal(true);
    expect(await suite.admin.pttl(store.keys.run(run.runId))).to.be.within(1, 1500);
    expect(await suite.admin.pttl(store.keys.runEvents(run.runId))).to.be.within(1, 1500);
    expect(await suite.admin.zcard(store.keys.runsExpiring())).to.equal(1);
  });

  it('a run id used again (by another workflow) after the old run expired: only the old run\'s index entries go', async () => {
    await setUp('1s');
    const runId = newRunId();
    await start(kept, [], { runId });
    await completeRun(store, runId);
    await waitFor(async () => (await suite.admin.exists(store.keys.run(runId))) === 0, { what: 'the run to expire', timeoutMs: 5000 });
    await start(other, [], { runId });
    expect(await store.pruneExpiredRuns()).to.equal(1);
    expect(await suite.admin.zscore(store.keys.runsAll(), runId)).to.not.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByStatus('pending'), runId)).to.not.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByWorkflow('retention.other'), runId)).to.not.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByStatus('completed'), runId), 'the old run was completed').to.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByWorkflow('retention.kept'), runId), 'the old run was another workflow').to.equal(null);
    expect((await store.getRun(runId))?.status).to.equal('pending');
  });

  it('a run a worker completes gets the retention (commits batched across runs included)', async () => {
    await setUp('1h');
    const worker = await createWorker({ workflows: [kept], connection: suite.redis.url, prefix: store.keys.prefix, logger: () => undefined });
    try {
      const runs = await Promise.all(Array.from({ length: 20 }, () => start(kept, [])));
      for (const run of runs) expect(await run.returnValue).to.equal(1);
      for (const run of runs) {
        for (const key of [store.keys.run(run.runId), store.keys.runEvents(run.runId)]) {
          expect(await suite.admin.pttl(key), key).to.be.within(3_590_000, 3_600_000);
        }
      }
      expect(await suite.admin.zcard(store.keys.runsExpiring())).to.equal(20);
    } finally {
      await worker.close();
    }
  });

  it('refuses a retention that is not a duration of at least one second, and keeps the configuration', async () => {
    await setUp();
    const before = getConfig();
    for (const bad of ['soon', '', 10, -5, 1.5e3 + 0.5, '0s', 1e17, '1000y'] as (string | number)[]) {
      const err = (() => {
        try {
          configure({ connection: suite.redis.url, retention: bad });
        } catch (e) {
          return e as Error;
        }
        return undefined;
      })();
      expect(err?.name, `retention ${JSON.stringify(bad)}`).to.equal('InvalidArgumentError');
      expect(err?.message).to.include('retention');
    }
    expect(getConfig()).to.equal(before);
  });
});
