/**
 * A new run's first commit takes its lease (lib/redis/lua/includes/startRun.lua):
 * the worker runs a new run's code before leasing it, from the start hint in
 * its first replay job, and the first commit takes the lease, appends
 * run_started and the intents, in one call. Only a run nobody started
 * qualifies; otherwise the commit writes nothing (StaleCommitError), and the
 * worker takes the usual way.
 */
import { expect } from 'chai';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp, StartSpec } from '../../lib/redis/store-types.js';
import { startHint, START_HINT_MAX_INPUT } from '../../lib/queue/replay-job-data.js';
import { serialize } from '../../lib/serialization/codec.js';
import { newRunId } from '../../lib/runtime/ids.js';
import { foundationSuite, createTestRun, expectNoWrites, rejectionOf, replayQueueOf } from './helpers.js';

const stepOps = (n: number): CommitOp[] => [
  { t: 'step_created', c: `step_${n}`, d: serialize({ stepName: 's', input: serialize([n]), mode: 'inline' }), n: 's', m: 'inline', i: serialize([n]) },
  { t: 'step_started', c: `step_${n}`, m: 'inline' },
];

describe('a new run started by its first commit (start spec)', function () {
  let store: Store;
  const spec = (owner = 'owner-1', startedAt = Date.now()): StartSpec => ({ owner, ttlMs: 30_000, startedAt });

  const suite = foundationSuite('startc');
  beforeEach(async function () {
    store = await suite.freshStore();
  });

  it('takes the lease, appends run_started (with the worker clock) and the intents, and moves the run to running', async () => {
    const runId = await createTestRun(store);
    const startedAt = Date.now() + 5; // the worker's clock, not Redis time
    const reply = await store.commit(runId, null, stepOps(1), '', { start: spec('owner-1', startedAt) });
    expect(reply.epoch).to.equal(1);
    expect(reply.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
    const stored = await store.readAllEvents(runId);
    expect(stored.map((e) => e.type)).to.deep.equal(['run_created', 'run_started', 'step_created', 'step_started']);
    // The reply's events are the log after run_created, as stored (run_started first).
    expect(reply.events.map((e) => [e.eventId, e.type, e.createdAt, e.wc])).to.deep.equal(stored.slice(1).map((e) => [e.eventId, e.type, e.createdAt, e.wc]));
    expect(stored[1]!.wc).to.equal(startedAt);
    const run = (await store.getRun(runId))!;
    expect(run.status).to.equal('running');
    expect(run.startedAt).to.equal(startedAt);
    expect(await suite.admin.get(store.keys.runLease(runId))).to.equal('owner-1');
    expect(await suite.admin.zscore(store.keys.runsByStatus('running'), runId)).to.not.equal(null);
    expect(await suite.admin.zscore(store.keys.runsByStatus('pending'), runId)).to.equal(null);
    // The epoch it took fences later commits like acquireRun's does.
    const next = await store.commit(runId, reply.epoch!, stepOps(2), reply.events[reply.events.length - 1]!.eventId);
    expect(next.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
    expect((await rejectionOf(store.commit(runId, 0, stepOps(3)))).name).to.equal('FencedError');
  });

  it('releases the lease in the same call when it is the last commit', async () => {
    const runId = await createTestRun(store);
    const reply = await store.commit(runId, null, [{ t: 'run_completed', c: '', d: serialize({ output: 1 }), out: serialize(1) }], '', {
      start: spec('owner-2'),
      releaseOwner: 'owner-2',
    });
    expect(reply.released).to.equal(true);
    expect(await suite.admin.exists(store.keys.runLease(runId))).to.equal(0);
    expect((await store.getRun(runId))!.status).to.equal('completed');
    expect((await store.readAllEvents(runId)).map((e) => e.type)).to.deep.equal(['run_created', 'run_started', 'run_completed']);
  });

  it('starts and ends a run in one commit: steps recorded after they ran keep their worker clock, the run goes from pending to completed', async () => {
    const runId = await createTestRun(store);
    const t0 = Date.now();
    const ops: CommitOp[] = [];
    for (const n of [1, 2]) {
      const [created, started] = stepOps(n) as [CommitOp & { wc?: number }, CommitOp & { wc?: number }];
      created.wc = started.wc = t0 + 10 * n;
      ops.push(created, started, { t: 'step_completed', c: `step_${n}`, d: serialize({ result: n }), wc: t0 + 10 * n + 3 });
    }
    ops.push({ t: 'run_completed', c: '', d: serialize({ output: 2 }), out: serialize(2) });
    const reply = await store.commit(runId, null, ops, '', { start: spec('owner-3', t0), releaseOwner: 'owner-3' });
    expect(reply.released).to.equal(true);
    expect(reply.results.map((r) => r.r)).to.deep.equal(Array(7).fill('ok'));
    // attempt 1, first started at the worker's clock of the step's start
    expect(reply.results[1]).to.include({ attempt: 1, startedAt: t0 + 10 });
    const stored = await store.readAllEvents(runId);
    expect(stored.map((e) => [e.type, e.correlationId, e.wc])).to.deep.equal([
      ['run_created', '', undefined],
      ['run_started', '', t0],
      ['step_created', 'step_1', t0 + 10],
      ['step_started', 'step_1', t0 + 10],
      ['step_completed', 'step_1', t0 + 13],
      ['step_created', 'step_2', t0 + 20],
      ['step_started', 'step_2', t0 + 20],
      ['step_completed', 'step_2', t0 + 23],
      ['run_completed', '', undefined],
    ]);
    // The events the reply gives back (fed to the execution) carry the same clocks.
    expect(reply.events.map((e) => e.wc)).to.deep.equal(stored.slice(1).map((e) => e.wc));
    const run = (await store.getRun(runId))!;
    expect(run).to.include({ status: 'completed', startedAt: t0, epoch: 1 });
    expect(await suite.admin.exists(store.keys.runLease(runId))).to.equal(0);
    for (const status of ['pending', 'running'] as const) {
      expect(await suite.admin.zscore(store.keys.runsByStatus(status), runId), status).to.equal(null);
    }
    expect(await suite.admin.zscore(store.keys.runsByStatus('completed'), runId)).to.not.equal(null);
    const steps = await store.getSteps(runId);
    expect(Object.keys(steps).sort()).to.deep.equal(['step_1', 'step_2']);
    expect(steps.step_1).to.include({ s: 'completed', a: 1, st: t0 + 10 });
  });

  it('writes nothing for a run somebody started already (StaleCommitError), nor while another owner holds its lease', async () => {
    const started = await createTestRun(store);
    await store.acquireRun(started, 'other', 30_000);
    const refused = () => store.commit(started, null, stepOps(1), '', { start: spec() });
    expect(((await expectNoWrites(suite.admin, refused)) as Error)?.name).to.equal('StaleCommitError');

    // Released again (status running, epoch 1): still not new.
    await store.releaseRun(started, 'other', 1, '');
    expect(((await expectNoWrites(suite.admin, refused)) as Error)?.name).to.equal('StaleCommitError');

    const leased = await createTestRun(store);
    await suite.admin.set(store.keys.runLease(leased), 'someone', 'PX', 30_000);
    expect(((await expectNoWrites(suite.admin, () => store.commit(leased, null, stepOps(1), '', { start: spec() }))) as Error)?.name).to.equal('StaleCommitError');
  });

  it('a cancelled or unknown run: RunExpiredError / WorkflowRunNotFoundError, nothing written', async () => {
    const runId = await createTestRun(store);
    await store.cancelRun(runId);
    expect(((await expectNoWrites(suite.admin, () => store.commit(runId, null, stepOps(1), '', { start: spec() }))) as Error)?.name).to.equal('RunExpiredError');
    expect(((await expectNoWrites(suite.admin, () => store.commit(newRunId(), null, stepOps(1), '', { start: spec() }))) as Error)?.name).to.equal(
      'WorkflowRunNotFoundError',
    );
  });

  it('in a batch, each run starts or is refused on its own', async () => {
    const fresh = await createTestRun(store);
    const taken = await createTestRun(store);
    await store.acquireRun(taken, 'other', 30_000);
    const [a, b] = await store.commitBatch([
      { runId: fresh, epoch: null, ops: stepOps(1), cursor: '', opts: { start: spec('o-a') } },
      { runId: taken, epoch: null, ops: stepOps(1), cursor: '', opts: { start: spec('o-b') } },
    ]);
    expect(a!.status).to.equal('fulfilled');
    expect(a!.status === 'fulfilled' && a!.value.epoch).to.equal(1);
    expect(a!.status === 'fulfilled' && a!.value.events[0]!.type).to.equal('run_started');
    expect(b!.status).to.equal('rejected');
    expect(b!.status === 'rejected' && (b!.reason as Error).name).to.equal('StaleCommitError');
    expect((await store.readAllEvents(taken)).map((e) => e.type)).to.deep.equal(['run_created', 'run_started']);
  });

  it('createRun puts the start hint in the first replay job only while the input is small', async () => {
    const small = await createTestRun(store);
    const smallQueue = await replayQueueOf(store, small);
    const job = await smallQueue.getJob((await smallQueue.getDeduplicationJobId(small))!);
    expect(startHint(job!.data)).to.deep.equal({ workflowName: 'wf', input: serialize([]) });

    const bigId = newRunId();
    const input = serialize(['x'.repeat(START_HINT_MAX_INPUT)]);
    await store.createRun({ runId: bigId, workflowName: 'wf', version: '1', input, data: serialize({ workflowName: 'wf', version: '1' }) });
    const bigQueue = await replayQueueOf(store, bigId);
    const bigJob = await bigQueue.getJob((await bigQueue.getDeduplicationJobId(bigId))!);
    expect(bigJob!.data).to.deep.equal({ runId: bigId });
    expect(startHint(bigJob!.data)).to.equal(undefined);
  });
});
