/**
 * One conversion from a commit op to its event (lib/redis/events.ts
 * eventOfOp): the events a commit's reply rebuilds from its ops, and those the
 * worker feeds ahead of a commit, are the ones commitRun.lua appends, byte for
 * byte in their data (only `parsed` is not stored: it is what the data says).
 */
import { expect } from 'chai';
import { eventOfOp } from '../../lib/redis/events.js';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp, StoredEvent } from '../../lib/redis/store-types.js';
import { deserialize, peekData, plainData, serialize } from '../../lib/serialization/codec.js';
import { claimHook, createTestRun, foundationSuite } from './helpers.js';

/** An event as the stream holds it (without what the process keeps in memory only). */
const stored = (e: StoredEvent | undefined): StoredEvent => {
  const { parsed: _parsed, ...rest } = e!;
  return rest;
};

describe('op events: a commit reply and an event fed ahead match the stream', function () {
  let store: Store;

  const suite = foundationSuite('op-events');
  beforeEach(async function () {
    store = await suite.freshStore();
  });

  it('every kind of op: the reply rebuilds each event the script appended exactly as the stream holds it', async () => {
    const runId = await createTestRun(store);
    const lease = await store.acquireRun(runId, 'owner-1', 30_000);
    const cursor = lease.events.at(-1)!.eventId;
    const wc = Date.now() - 5_000;
    const input = serialize([1]);
    const ops: CommitOp[] = [
      { t: 'hook_created', c: 'hook_1', d: serialize({ token: 'tok-ev', isWebhook: false }), tk: 'tok-ev', wh: false },
      { t: 'step_created', c: 'step_1', d: serialize({ stepName: 's', input, mode: 'inline' }), n: 's', m: 'inline', i: input, wc },
      { t: 'step_started', c: 'step_1', m: 'inline', wc },
      { t: 'step_retrying', c: 'step_1', d: serialize({ error: { message: 'x' } }), ra: 0, wc },
      { t: 'step_started', c: 'step_1', m: 'inline' },
      { t: 'step_completed', c: 'step_1', d: serialize({ result: new Date(0) }), wc: wc + 1 },
      { t: 'wait_created', c: 'wait_1', d: serialize({ resumeAt: 1 }), at: 1 },
      { t: 'wait_completed', c: 'wait_1', d: serialize({ resumeAt: 1 }) },
      { t: 'hook_disposed', c: 'hook_1', d: serialize({}) },
      { t: 'run_completed', c: '', d: serialize({ output: 2 }), out: serialize(2) },
    ];
    const reply = await store.commit(runId, lease.epoch, ops, cursor);
    expect(reply.results.map((r) => r.r)).to.deep.equal(ops.map(() => 'ok'));
    const log = await store.readAllEvents(runId, cursor);
    expect(reply.own.map(stored)).to.deep.equal(log);
    expect(reply.own.map((e) => e!.parsed)).to.deep.equal([
      undefined,
      { stepName: 's', mode: 'inline' },
      { attempt: 1 },
      undefined,
      { attempt: 2 },
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    for (const e of reply.own) if (e!.parsed !== undefined) expect(deserialize(e!.data)).to.deep.include(e!.parsed as object);
  });

  it('a hook whose token another run holds: the reply has the hook_conflict the script appended', async () => {
    const holder = await createTestRun(store);
    expect((await claimHook(store, holder, 'tok-taken')).r).to.equal('ok');
    const runId = await createTestRun(store);
    const reply = await store.commit(runId, null, [
      { t: 'hook_created', c: 'hook_1', d: serialize({ token: 'tok-taken', isWebhook: false }), tk: 'tok-taken', wh: false },
    ]);
    expect(reply.results[0]).to.include({ r: 'conflict', conflictingRunId: holder });
    const [ev] = await store.readAllEvents(runId, (await store.readEvents(runId))[0]!.eventId);
    expect(ev!.type).to.equal('hook_conflict');
    expect(reply.own.map(stored)).to.deep.equal([ev]);
  });

  it('a step fed ahead: its events are the committed ones but for their id and createdAt', async () => {
    const runId = await createTestRun(store);
    const lease = await store.acquireRun(runId, 'owner-1', 30_000);
    const wc = Date.now() - 1_000;
    const input = serialize(['a']);
    const ops: CommitOp[] = [
      { t: 'step_created', c: 'step_1', d: serialize({ stepName: 's', input, mode: 'inline' }), n: 's', m: 'inline', i: input, wc },
      { t: 'step_started', c: 'step_1', m: 'inline', wc },
      { t: 'step_completed', c: 'step_1', d: serialize({ result: 'ok' }), wc: wc + 3 },
    ];
    // What drive.ts feeds ahead: no id yet, the workflow clock as its time, a new step's first attempt.
    const ahead = ops.map((op) => eventOfOp(op, { id: '', createdAt: (op as { wc: number }).wc, attempt: 1, wc: (op as { wc: number }).wc }));
    const reply = await store.commit(runId, lease.epoch, ops, lease.events.at(-1)!.eventId);
    const log = await store.readAllEvents(runId, lease.events.at(-1)!.eventId);
    expect(ahead.map((e, i) => ({ ...e, eventId: log[i]!.eventId, createdAt: log[i]!.createdAt }))).to.deep.equal(reply.own);
  });

  it('plainData writes the envelope superjson writes for plain values; peekData reads its json part', function () {
    for (const v of [{}, { attempt: 1 }, [1, 'a', null], 'text', 0, null, { a: { b: [true] } }]) {
      expect(plainData(v)).to.equal(serialize(v));
      expect(peekData(plainData(v))).to.deep.equal(v);
    }
    expect(plainData({ attempt: undefined })).to.equal('{"json":{}}');
    expect(peekData<{ token?: string }>(serialize({ token: 't', at: new Date(0) }))?.token).to.equal('t');
    expect(peekData('null')).to.equal(undefined);
  });
});
