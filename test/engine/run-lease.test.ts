/**
 * The replay's hold on a run (lib/worker/run-lease.ts), against a fake store:
 * taken by acquireRun or by a new run's first commit, renewed while held (a
 * renewal that finds another owner marks it lost), released by the commit
 * that leaves the run waiting or finished, or else at the end of the replay.
 */
import { expect } from 'chai';
import type { CommitReply, StartSpec } from '../../lib/redis/store-types.js';
import { RunLease, type AcquiredRun } from '../../lib/worker/run-lease.js';

/** A store that records the lease calls; `renewOk` is what renewals answer. */
function fakeStore(renewOk = true) {
  const calls: string[] = [];
  const store = {
    renewOk,
    async acquireRun(runId: string, owner: string, ttlMs: number) {
      calls.push(`acquire ${runId} ${owner} ${ttlMs}`);
      return { epoch: 7 } as AcquiredRun;
    },
    async renewLease(runId: string, owner: string, ttlMs: number) {
      calls.push(`renew ${runId} ${owner} ${ttlMs}`);
      return store.renewOk;
    },
    async releaseRun(runId: string, owner: string, epoch: number, seen: string) {
      calls.push(`release ${runId} ${owner} ${epoch} ${seen}`);
      return true;
    },
  };
  return { store, calls };
}

const reply = (r: Partial<CommitReply>): CommitReply => ({ results: [], unseen: [], own: [], events: [], now: 0, released: false, ...r });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits (up to 5 s: timers run late on a busy machine) until `calls` has `n` renewals. */
async function renewals(calls: string[], n: number): Promise<void> {
  for (let i = 0; i < 500 && calls.filter((c) => c.startsWith('renew')).length < n; i++) await sleep(10);
}
const start: StartSpec = { owner: 'w:1:1', ttlMs: 60, startedAt: 1 };

describe('engine: the run lease of a replay', function () {
  it('acquired: renewed every third of its ttl (at least 50 ms) until released at the end with the cursor', async () => {
    const { store, calls } = fakeStore();
    const { lease, run } = await RunLease.acquire(store, 'r1', 'w:1:2', 60);
    expect(run.epoch).to.equal(7);
    expect({ epoch: lease.epoch, acquired: lease.acquired, start: lease.start, mayRunAhead: lease.mayRunAhead }).to.deep.equal({
      epoch: 7,
      acquired: true,
      start: undefined,
      mayRunAhead: true,
    });
    lease.startRenewing();
    lease.startRenewing(); // idempotent
    await renewals(calls, 2);
    await lease.release('1-5');
    const renewed = calls.length - 2;
    expect(renewed).to.be.at.least(2);
    expect(calls).to.deep.equal(['acquire r1 w:1:2 60', ...Array<string>(renewed).fill('renew r1 w:1:2 60'), 'release r1 w:1:2 7 1-5']);
    await sleep(70);
    expect(calls, 'no renewal after the release').to.have.length(renewed + 2);
  });

  it('a renewal that finds another owner marks it lost: the replay may no longer run steps ahead', async () => {
    const { store, calls } = fakeStore(false);
    const { lease } = await RunLease.acquire(store, 'r1', 'o', 60);
    lease.startRenewing();
    await renewals(calls, 1);
    await sleep(1);
    expect(lease.lost).to.equal(true);
    expect(lease.mayRunAhead).to.equal(false);
    lease.stop();
  });

  it('released by a commit: not renewed, not lost, and not released again at the end', async () => {
    const { store, calls } = fakeStore(false);
    const { lease } = await RunLease.acquire(store, 'r1', 'o', 60);
    lease.startRenewing();
    lease.noteReleased(reply({ released: false }));
    expect(lease.released).to.equal(false);
    lease.noteReleased(reply({ released: true }));
    lease.noteReleased(reply({ released: false }));
    expect(lease.released, 'stays released').to.equal(true);
    await sleep(70);
    await lease.release('1-9');
    expect(lease.lost).to.equal(false);
    expect(calls).to.deep.equal(['acquire r1 o 60']);
  });

  it('a new run: its first commit takes the lease (its epoch) and renewing starts, unless that commit released it', async () => {
    const { store, calls } = fakeStore();
    const lease = RunLease.toStart(store, 'r2', start, true);
    expect({ owner: lease.owner, epoch: lease.epoch, acquired: lease.acquired, start: lease.start, mayRunAhead: lease.mayRunAhead }).to.deep.equal({
      owner: 'w:1:1',
      epoch: 0,
      acquired: false,
      start,
      mayRunAhead: true,
    });
    expect(RunLease.toStart(store, 'r2', start, false).mayRunAhead, 'a re-delivery records a start before running a step').to.equal(false);
    lease.takeStart(reply({ epoch: 3 }));
    expect({ epoch: lease.epoch, acquired: lease.acquired, start: lease.start }).to.deep.equal({ epoch: 3, acquired: true, start: undefined });
    await renewals(calls, 1);
    await lease.release('2-1');
    expect(calls.at(-1)).to.equal('release r2 w:1:1 3 2-1');
    expect(new Set(calls.slice(0, -1))).to.deep.equal(new Set(['renew r2 w:1:1 60']));

    const { store: other, calls: otherCalls } = fakeStore();
    const once = RunLease.toStart(other, 'r3', start, true);
    once.takeStart(reply({ epoch: 1, released: true }));
    once.noteReleased(reply({ epoch: 1, released: true }));
    await sleep(70);
    await once.release('3-1');
    expect(otherCalls, 'a run started and left waiting by one commit').to.deep.equal([]);
  });

  it('a new run whose first commit never succeeded holds nothing: the end of the replay writes nothing', async () => {
    const { store, calls } = fakeStore();
    const lease = RunLease.toStart(store, 'r4', start, true);
    await lease.release('');
    expect(calls).to.deep.equal([]);
  });
});
