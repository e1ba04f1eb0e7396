/**
 * Workflow versions (issue 12): defineWorkflow's version, which version
 * start() starts, where the run's jobs go (its version's queue), the version
 * filter of listRuns, and runs stored before versions existed (adopted as
 * version 1 by the reconciler). No worker process: the queues are read directly.
 */
import { expect } from 'chai';
import { defineWorkflow } from 'workflow-redis';
import { getRun, listRuns, resumeHook, start } from 'workflow-redis/api';
import { reconcile } from 'workflow-redis/worker';
import { QUEUE_NAMES } from '../../lib/redis/keys.js';
import { thrownBy } from '../helpers/throws.js';
import { claimHook, createTestRun, expectNoWrites, foundationSuite, pendingJobsOf, rejectionOf, TEST_ROUTE } from './helpers.js';

const N = 'versions';
const onlyV1 = defineWorkflow(`${N}.single`, async () => 'single');
const twoV1 = defineWorkflow(`${N}.two`, async () => 'one', { version: '1' });
const twoV2 = defineWorkflow(`${N}.two`, async () => 'two', { version: '2026-12-02.b' });

describe('workflow versions', function () {
  const suite = foundationSuite('versions');

  describe('defineWorkflow', function () {
    it('takes a version (default "1") and refuses one that is not a version, saying what one looks like', () => {
      expect(onlyV1.version).to.equal('1');
      expect(twoV2.version).to.equal('2026-12-02.b');
      for (const bad of ['', '2@3', 'with space', 'x'.repeat(65), 2, null]) {
        const err = thrownBy(() => defineWorkflow(`${N}.bad`, async () => 0, { version: bad as never }));
        expect(err.name, String(bad)).to.equal('InvalidArgumentError');
        expect(err.message).to.include('1-64 letters, digits');
      }
      expect(thrownBy(() => defineWorkflow(`${N}.bad`, async () => 0, 'v2' as never)).message).to.include('{ version:');
    });
  });

  describe('start()', function () {
    it('starts the only registered version, or the handle\'s; the run records it and its job is on that version\'s queue', async () => {
      const store = await suite.freshStore();
      const single = await start(`${N}.single`, []);
      const two = await start(twoV2, []);
      expect((await single.info()).version).to.equal('1');
      expect((await two.info()).version).to.equal('2026-12-02.b');
      const [job] = await pendingJobsOf(store, two.runId);
      expect(job?.queueName).to.equal(`workflows/${N}.two@2026-12-02.b`);
      expect(await store.queues(twoV1).replays.getJobCounts('waiting')).to.deep.equal({ waiting: 0 });
      const created = (await two.events())[0]!;
      expect(created.data).to.deep.equal({ workflowName: `${N}.two`, version: '2026-12-02.b' });
    });

    it('by name, with several versions registered: an error that lists them and says how to choose; { version } chooses', async () => {
      const store = await suite.freshStore();
      const err = await expectNoWrites(suite.admin, () => start(`${N}.two`, []));
      expect((err as Error).name).to.equal('InvalidArgumentError');
      expect((err as Error).message).to.include('2 versions of it (1, 2026-12-02.b)').and.include("{ version }");
      const chosen = await start(`${N}.two`, [], { version: '1' });
      expect((await chosen.info()).version).to.equal('1');
      expect((await pendingJobsOf(store, chosen.runId))[0]?.queueName).to.equal(`workflows/${N}.two@1`);
    });

    it('refuses, writing nothing: an unregistered version, a handle with another { version }, a malformed version', async () => {
      await suite.freshStore();
      const unknown = (await expectNoWrites(suite.admin, () => start(`${N}.two`, [], { version: '3' }))) as Error;
      expect(unknown.name).to.equal('WorkflowNotRegisteredError');
      expect(unknown.message).to.include(`"${N}.two" version '3'`).and.include("{ version: '3' }");
      const mismatch = (await expectNoWrites(suite.admin, () => start(twoV1, [], { version: '2026-12-02.b' }))) as Error;
      expect(mismatch.name).to.equal('InvalidArgumentError');
      expect(mismatch.message).to.include(`${N}.two@1`);
      const malformed = (await expectNoWrites(suite.admin, () => start(twoV1, [], { version: 'a b' }))) as Error;
      expect(malformed.name).to.equal('InvalidArgumentError');
    });
  });

  describe('listRuns({ version })', function () {
    it('filters by version (with or without a status) and needs the workflow name', async () => {
      await suite.freshStore();
      const a = await start(twoV1, []);
      const b = await start(twoV2, []);
      const c = await start(twoV2, []);
      await getRun(c.runId).cancel();
      const ids = async (opts: Parameters<typeof listRuns>[0]) => (await listRuns(opts)).data.map((r) => r.runId).sort();
      expect(await ids({ workflowName: `${N}.two`, version: '1' })).to.deep.equal([a.runId]);
      expect(await ids({ workflowName: `${N}.two`, version: '2026-12-02.b' })).to.deep.equal([b.runId, c.runId].sort());
      expect(await ids({ workflowName: `${N}.two`, version: '2026-12-02.b', status: 'pending' })).to.deep.equal([b.runId]);
      expect(await ids({ workflowName: `${N}.two` })).to.deep.equal([a.runId, b.runId, c.runId].sort());
      expect((await rejectionOf(listRuns({ version: '1' }))).message).to.include('pass workflowName too');
      expect((await rejectionOf(listRuns({ workflowName: `${N}.two`, version: '@' }))).name).to.equal('InvalidArgumentError');
    });

    it('says a pending run waits for a worker of its version while no live worker registers it', async () => {
      await suite.freshStore();
      const run = await start(twoV2, []);
      const info = await run.info();
      expect(info.waitingFor).to.equal(`waiting for a worker that registers ${N}.two@2026-12-02.b`);
      expect((await listRuns({ workflowName: `${N}.two` })).data[0]!.waitingFor).to.equal(info.waitingFor);
    });
  });

  describe('a run stored before versions existed', function () {
    it('is resumed without error (recorded, not queued), then adopted as version 1 and woken by the reconciler', async () => {
      const store = await suite.freshStore();
      const runId = await createTestRun(store);
      expect((await claimHook(store, runId, `old:${runId}`)).r).to.equal('ok');
      // What an older release stored: no version, no queue, no job.
      await suite.admin.hdel(store.keys.run(runId), 'version', 'queue');
      await store.queues(TEST_ROUTE).replays.obliterate({ force: true });
      expect(await pendingJobsOf(store, runId)).to.deep.equal([]);

      expect((await resumeHook(`old:${runId}`, { late: true })).runId).to.equal(runId);
      expect(await pendingJobsOf(store, runId), 'no queue to put it on yet').to.deep.equal([]);
      expect((await getRun(runId).info()).version, 'read as version 1').to.equal('1');

      const report = await reconcile(store);
      expect(report.woken).to.be.at.least(1);
      const h = await suite.admin.hmget(store.keys.run(runId), 'version', 'queue');
      expect(h).to.deep.equal(['1', QUEUE_NAMES.replays(TEST_ROUTE)]);
      expect((await pendingJobsOf(store, runId)).map((j) => j.queueName)).to.deep.equal([QUEUE_NAMES.replays(TEST_ROUTE)]);
      expect(await suite.admin.zscore(store.keys.runsByVersion(TEST_ROUTE), runId)).to.not.equal(null);
    });
  });
});
