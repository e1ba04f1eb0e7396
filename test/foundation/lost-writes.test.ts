/**
 * A log that lost acknowledged writes (ARCHITECTURE §7.10): a failover to a replica
 * behind its master, or a restart from an older snapshot, takes the run's
 * keys back in time while a worker still holds an execution that consumed the
 * lost events. acquireRun must not hand that execution the log as "warm", and
 * a commit whose cursor is gone must write nothing. The keys are taken back
 * with DUMP / RESTORE, which is what such a restore does to them.
 */
import { expect } from 'chai';
import type { Redis } from 'ioredis';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp } from '../../lib/redis/store-types.js';
import { serialize } from '../../lib/serialization/codec.js';
import { createTestRun, expectNoWrites, foundationSuite, rejectionOf } from './helpers.js';

const stepOps = (n: number): CommitOp[] => [
  { t: 'step_created', c: `step_${n}`, d: serialize({ stepName: 's', input: serialize([n]), mode: 'inline' }), n: 's', m: 'inline', i: serialize([n]) },
  { t: 'step_started', c: `step_${n}`, m: 'inline' },
];

/** The run's keys as DUMP blobs, to put back later as a lossy restore would. */
async function dumpKeys(client: Redis, keys: string[]): Promise<Map<string, Buffer | null>> {
  const out = new Map<string, Buffer | null>();
  for (const key of keys) out.set(key, await client.dumpBuffer(key));
  return out;
}

async function restoreKeys(client: Redis, dumps: Map<string, Buffer | null>): Promise<void> {
  for (const [key, dump] of dumps) {
    if (dump) await client.restore(key, 0, dump, 'REPLACE');
    else await client.del(key);
  }
}

describe('lost writes: a worker never trusts an execution the log no longer backs', function () {
  let store: Store;
  const suite = foundationSuite('lost');
  beforeEach(async function () {
    store = await suite.freshStore();
  });

  /**
   * A run taken by a replay (epoch 1) whose keys are then saved; the replay
   * goes on (a step, a release). Returns the saved keys and the execution's
   * state as the worker keeps it warm.
   */
  async function runAheadOfSnapshot() {
    const runId = await createTestRun(store);
    const lease = await store.acquireRun(runId, 'owner-1', 30_000);
    const k = store.keys;
    const saved = await dumpKeys(suite.admin, [k.run(runId), k.runEvents(runId), k.runSteps(runId), k.runLease(runId)]);
    const cursor0 = lease.events.at(-1)!.eventId;
    const reply = await store.commit(runId, lease.epoch, stepOps(1), cursor0);
    const cursor = reply.own.at(-1)!.eventId;
    expect(await store.releaseRun(runId, 'owner-1', lease.epoch, cursor)).to.equal(true);
    return { runId, saved, warm: { epoch: lease.epoch, cursor }, logBefore: lease.events.map((e) => e.eventId) };
  }

  it('acquireRun answers cold (input and the whole log) when the warm cursor is no longer in the log, at the epoch the cache expects', async () => {
    const { runId, saved, warm, logBefore } = await runAheadOfSnapshot();
    // Control: before the loss, the same cache state is warm and gets only what follows its cursor.
    const control = await store.acquireRun(runId, 'owner-2', 30_000, warm);
    expect(control.warm).to.equal(true);
    expect(control.events).to.deep.equal([]);
    expect(await store.releaseRun(runId, 'owner-2', control.epoch, warm.cursor)).to.equal(true);

    await restoreKeys(suite.admin, saved);
    await suite.admin.del(store.keys.runLease(runId)); // the restored lease of owner-1 has expired meanwhile
    const lease = await store.acquireRun(runId, 'owner-3', 30_000, warm);
    // The epoch alone would call it warm: the restored run hash is at epoch 1 again, the cache holds epoch 1.
    expect(lease.epoch).to.equal(warm.epoch + 1);
    expect(lease.warm).to.equal(false);
    expect(lease.input).to.equal(serialize([]));
    expect(lease.events.map((e) => e.eventId)).to.deep.equal(logBefore);
  });

  it('a warm acquire still gets the events appended after its cursor, and pages them from there', async () => {
    const runId = await createTestRun(store);
    const first = await store.acquireRun(runId, 'owner-1', 30_000);
    const cursor = first.events.at(-1)!.eventId;
    expect(await store.releaseRun(runId, 'owner-1', first.epoch, cursor)).to.equal(true);
    const appended = await store.commit(runId, null, [...stepOps(1), ...stepOps(2)]);
    const lease = await store.acquireRun(runId, 'owner-2', 30_000, { epoch: first.epoch, cursor }, 3);
    expect(lease.warm).to.equal(true);
    expect(lease.input).to.equal('');
    // At most maxEvents (3) after the cursor, the cursor itself not among them.
    expect(lease.events.map((e) => e.eventId)).to.deep.equal(appended.own.slice(0, 3).map((e) => e!.eventId));
  });

  it('a commit whose cursor the log lost is refused with EventLogRewoundError and writes nothing', async () => {
    const { runId, saved, warm } = await runAheadOfSnapshot();
    await restoreKeys(suite.admin, saved);
    // The restored run is at the epoch this replay writes under, so the fence alone would let it append.
    const err = await expectNoWrites(suite.admin, () => store.commit(runId, warm.epoch, stepOps(2), warm.cursor));
    expect((err as Error)?.name).to.equal('EventLogRewoundError');
    // The batch path maps the same code.
    const [settled] = await store.commitBatch([{ runId, epoch: warm.epoch, ops: stepOps(2), cursor: warm.cursor }]);
    expect(settled!.status).to.equal('rejected');
    expect(((settled as PromiseRejectedResult).reason as Error).name).to.equal('EventLogRewoundError');
    // From a cursor the log has, the same commit goes through.
    const tail = (await store.readAllEvents(runId)).at(-1)!.eventId;
    const ok = await store.commit(runId, warm.epoch, stepOps(2), tail);
    expect(ok.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
    expect((await rejectionOf(store.commit(runId, warm.epoch, stepOps(3), '99999999999999-0'))).name).to.equal('EventLogRewoundError');
  });
});
