/**
 * The scripts behind hook timeouts, hooks claimed by start() and the fan-out
 * by tag, against a real Redis through the store (no replay engine): the
 * timeout releases the token and the tag index in the script that records
 * it; a claim is atomic with the run, and a refused one writes nothing; a
 * fan-out batch resumes every live hook of its tag once, even racing new
 * claims, and a refused one writes nothing.
 */
import { expect } from 'chai';
import { resumeHook, resumeHooks, start } from 'workflow-redis/api';
import { defineWorkflow } from 'workflow-redis';
import { resumeTagBatch } from '../../lib/redis/hook-fanout.js';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp } from '../../lib/redis/store-types.js';
import { newRunId } from '../../lib/runtime/ids.js';
import { serialize } from '../../lib/serialization/codec.js';
import { expectRejection } from '../engine/_util.js';
import { completeRun, createTestRun, disposeHook, eventsOfType, foundationSuite, receivedPayloads, snapshotKeyspace } from './helpers.js';

const claimOp = (token: string, opts: { hookId?: string; tags?: string[]; timeoutAt?: number } = {}): CommitOp => ({
  t: 'hook_created',
  c: opts.hookId ?? 'hook_1',
  d: serialize({ token }),
  tk: token,
  wh: false,
  ...(opts.tags ? { tg: opts.tags } : {}),
  ...(opts.timeoutAt !== undefined ? { to: opts.timeoutAt } : {}),
});

/** A run with one live hook (token, tags), created through the store. */
async function runWithHook(store: Store, token: string, tags?: string[], timeoutAt?: number): Promise<string> {
  const runId = await createTestRun(store);
  const { results } = await store.commit(runId, null, [claimOp(token, { tags, timeoutAt })]);
  expect(results[0]?.r).to.equal('ok');
  return runId;
}

const noop = defineWorkflow('foundation.hook-ext.noop', async () => 1);

describe('hook timeouts, claims and tags: the scripts', function () {
  this.timeout(60_000);
  const suite = foundationSuite('hook-ext');

  describe('timeout (completeWait.lua on a hook timer)', () => {
    it('records hook_timed_out, releases the token and its tag entry, and wakes the run; a resume after it writes nothing', async () => {
      const store = await suite.freshStore();
      const runId = await runWithHook(store, 'to-1', ['t:1'], Date.now() - 1);
      expect(await suite.admin.zcard(store.keys.hookTag('t:1'))).to.equal(1);
      expect((await store.getWaits(runId)).hook_1).to.include({ s: 'waiting', k: 'hook' });
      await store.completeWait(runId, 'hook_1');
      expect(await eventsOfType(store, runId, 'hook_timed_out')).to.have.length(1);
      expect(await store.getHook('to-1')).to.equal(null);
      expect(await suite.admin.zcard(store.keys.hookTag('t:1'))).to.equal(0);
      const before = await snapshotKeyspace(suite.admin);
      await expectRejection(resumeHook('to-1', 'late'), 'HookNotFoundError');
      expect(await snapshotKeyspace(suite.admin)).to.deep.equal(before);
      // A second firing writes nothing.
      await expectRejection(store.completeWait(runId, 'hook_1'), 'EntityConflictError');
      expect(await eventsOfType(store, runId, 'hook_timed_out')).to.have.length(1);
    });

    it('too early: refused with the time to retry at; a disposed hook drops its timer and never times out', async () => {
      const store = await suite.freshStore();
      const runId = await runWithHook(store, 'to-2', undefined, Date.now() + 60_000);
      const early = await expectRejection<{ retryAt: number }>(store.completeWait(runId, 'hook_1'), 'TooEarlyError');
      expect(early.retryAt).to.be.greaterThan(Date.now());
      await disposeHook(store, runId);
      expect(await store.getWaits(runId)).to.deep.equal({});
      await expectRejection(store.completeWait(runId, 'hook_1'), 'EntityConflictError');
      expect(await eventsOfType(store, runId, 'hook_timed_out')).to.have.length(0);
    });
  });

  describe('start(workflow, args, { hook })', () => {
    it('claims the token with the run (hook_0): resumes succeed at once; the run ending releases it', async () => {
      const store = await suite.freshStore();
      const run = await start(noop, [], { hook: { token: 'claim-1', metadata: { m: 1 } } });
      const rec = await store.getHook('claim-1');
      expect(rec).to.include({ runId: run.runId, hookId: 'hook_0', claimed: true });
      for (let i = 0; i < 5; i++) await resumeHook('claim-1', i);
      expect(await receivedPayloads(store, run.runId)).to.deep.equal([0, 1, 2, 3, 4]);
      const types = (await store.readAllEvents(run.runId)).map((e) => `${e.type} ${e.correlationId}`.trim());
      expect(types.slice(0, 2)).to.deep.equal(['run_created', 'hook_created hook_0']);
      await completeRun(store, run.runId);
      expect(await store.getHook('claim-1')).to.equal(null);
    });

    it('experimental_hook is the same option; both at once is refused', async () => {
      const store = await suite.freshStore();
      const run = await start(noop, [], { experimental_hook: { token: 'claim-x' } });
      expect((await store.getHook('claim-x'))?.runId).to.equal(run.runId);
      await expectRejection(start(noop, [], { hook: { token: 'a' }, experimental_hook: { token: 'b' } }), 'InvalidArgumentError');
    });

    it('a token another live hook holds: HookConflictError naming its run, and nothing written', async () => {
      const store = await suite.freshStore();
      const holder = await runWithHook(store, 'claim-2');
      const before = await snapshotKeyspace(suite.admin);
      const runId = newRunId();
      const err = await expectRejection<{ token: string; conflictingRunId: string }>(start(noop, [], { runId, hook: { token: 'claim-2' } }), 'HookConflictError');
      expect(err.conflictingRunId).to.equal(holder);
      expect(err.token).to.equal('claim-2');
      expect(await snapshotKeyspace(suite.admin)).to.deep.equal(before);
      expect(await store.getRun(runId)).to.equal(null);
    });

    it('two concurrent start() with one token: exactly one run exists, the other got HookConflictError', async () => {
      const store = await suite.freshStore();
      const ids = Array.from({ length: 10 }, () => newRunId());
      const results = await Promise.allSettled(ids.map((runId) => start(noop, [], { runId, hook: { token: 'claim-3' } })));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).to.have.length(1);
      for (const r of results) if (r.status === 'rejected') expect((r.reason as Error).name).to.equal('HookConflictError');
      const existing = (await Promise.all(ids.map((id) => store.getRun(id)))).filter((r) => r !== null);
      expect(existing.map((r) => r!.runId)).to.deep.equal([(won[0] as PromiseFulfilledResult<{ runId: string }>).value.runId]);
      expect(await suite.admin.zcard(store.keys.runsAll())).to.equal(1);
    });
  });

  describe('resumeHooks({ tag }) (resumeHooksByTag.lua)', () => {
    it('resumes every live hook of the tag once, in one call, and none of another tag; [] when none', async () => {
      const store = await suite.freshStore();
      const a = await Promise.all(Array.from({ length: 50 }, (_, i) => runWithHook(store, `a-${i}`, ['order:42', 'x'])));
      const b = await Promise.all(Array.from({ length: 50 }, (_, i) => runWithHook(store, `b-${i}`, ['order:43'])));
      const got = await resumeHooks({ tag: 'order:42' }, { go: 1 });
      expect(got.map((h) => h.runId).sort()).to.deep.equal([...a].sort());
      expect(got[0]!.tags).to.deep.equal(['order:42', 'x']);
      for (const id of a) expect(await receivedPayloads(store, id)).to.deep.equal([{ go: 1 }]);
      for (const id of b) expect(await receivedPayloads(store, id)).to.deep.equal([]);
      expect(await resumeHooks({ tag: 'nobody' }, 1)).to.deep.equal([]);
    });

    it('disposed hooks and finished runs leave the index; a re-sent batch (same resume id) appends nothing twice', async () => {
      const store = await suite.freshStore();
      const [r1, r2, r3] = await Promise.all([1, 2, 3].map((i) => runWithHook(store, `d-${i}`, ['t'])));
      await disposeHook(store, r1!);
      await completeRun(store, r2!);
      expect(await suite.admin.zrange(store.keys.hookTag('t'), "0", "-1")).to.deep.equal(['d-3']);
      const p = { tag: 't', data: serialize({ payload: 'p' }), resumeId: 'same', cursor: '', bound: '', limit: 10, maxHooks: 10 };
      const first = await resumeTagBatch(store, p);
      const again = await resumeTagBatch(store, p);
      expect(first.hooks.map((h) => h.runId)).to.deep.equal([r3]);
      expect(again.hooks.map((h) => h.runId)).to.deep.equal([r3]);
      expect(await receivedPayloads(store, r3!)).to.deep.equal(['p']);
    });

    it('in batches: each hook once, in claim order; hooks tagged after the call began are left out', async () => {
      const store = await suite.freshStore();
      const runs: string[] = [];
      for (let i = 0; i < 20; i++) runs.push(await runWithHook(store, `p-${i}`, ['pg']));
      const base = { tag: 'pg', data: serialize({ payload: 1 }), resumeId: 'r', limit: 7, maxHooks: 100 };
      const b1 = await resumeTagBatch(store, { ...base, cursor: '', bound: '' });
      const late = await runWithHook(store, 'p-late', ['pg']);
      const b2 = await resumeTagBatch(store, { ...base, cursor: b1.cursor, bound: b1.bound });
      const b3 = await resumeTagBatch(store, { ...base, cursor: b2.cursor, bound: b2.bound });
      expect([b1.hooks.length, b2.hooks.length, b3.hooks.length]).to.deep.equal([7, 7, 6]);
      expect(b3.cursor).to.equal('');
      expect([...b1.hooks, ...b2.hooks, ...b3.hooks].map((h) => h.runId)).to.deep.equal(runs);
      expect(await receivedPayloads(store, late)).to.deep.equal([]);
    });

    it('more live hooks than maxHooks: TooManyHooksError, nothing written', async () => {
      const store = await suite.freshStore();
      await Promise.all([1, 2, 3].map((i) => runWithHook(store, `m-${i}`, ['many'])));
      const before = await snapshotKeyspace(suite.admin);
      const err = await expectRejection<{ count: number; limit: number }>(resumeHooks({ tag: 'many' }, 1, { maxHooks: 2 }), 'TooManyHooksError');
      expect([err.count, err.limit]).to.deep.equal([3, 2]);
      expect(await snapshotKeyspace(suite.admin)).to.deep.equal(before);
      for (const bad of [{ tag: '' }, { tag: 'a\u0000b' }, { tag: 'x'.repeat(129) }, {}]) {
        await expectRejection(resumeHooks(bad as { tag: string }, 1), 'InvalidArgumentError');
      }
      await expectRejection(resumeHooks({ tag: 'many' }, 1, { maxHooks: 0 }), 'InvalidArgumentError');
      expect(await snapshotKeyspace(suite.admin)).to.deep.equal(before);
    });

    it('racing 500 new tagged claims: every hook resumed at most once, exactly those the call returned', async () => {
      const store = await suite.freshStore();
      const old = await Promise.all(Array.from({ length: 500 }, (_, i) => runWithHook(store, `o-${i}`, ['race'])));
      const fresh = await Promise.all(Array.from({ length: 500 }, () => createTestRun(store)));
      const claims = Promise.all(fresh.map((runId, i) => store.commit(runId, null, [claimOp(`n-${i}`, { tags: ['race'] })])));
      const resumed = await resumeHooks({ tag: 'race' }, 'fan');
      await claims;
      const resumedRuns = new Set(resumed.map((h) => h.runId));
      expect(resumedRuns.size).to.equal(resumed.length);
      for (const id of old) expect(resumedRuns.has(id), id).to.equal(true);
      for (const id of [...old, ...fresh]) {
        const n = (await receivedPayloads(store, id)).length;
        expect(n, id).to.equal(resumedRuns.has(id) ? 1 : 0);
      }
    });
  });
});
