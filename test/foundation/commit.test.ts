/**
 * commitReplay's contract (lib/redis/lua/commitReplay.lua): the events a
 * commit appends are rebuilt by the caller from its ops (ids and server time
 * from the script), only events others appended after the cursor come back,
 * a strict commit refuses to write when there are such events, the lease is
 * released with the commit on request, and commitReplayBatch settles several
 * runs' commits independently in one call.
 */
import { expect } from 'chai';
import { LuaCode } from '../../lib/errors/lua-codes.js';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp } from '../../lib/redis/store-types.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { foundationSuite, createTestRun, expectNoWrites, rejectionOf } from './helpers.js';
import { readFileSync, readdirSync } from 'node:fs';
import { RUN_STATUSES } from '../../lib/domain/run-status.js';

const stepOps = (n: number): CommitOp[] => [
  { t: 'step_created', c: `step_${n}`, d: serialize({ stepName: 's', input: serialize([n]), mode: 'inline' }), n: 's', m: 'inline', i: serialize([n]) },
  { t: 'step_started', c: `step_${n}`, m: 'inline' },
];

describe('commitReplay: events, cursor, strict commits, lease release, batches', function () {
  let store: Store;

  const suite = foundationSuite('commit');
  beforeEach(async function () {
    store = await suite.freshStore();
  });

  async function acquired(owner = 'owner-1') {
    const runId = await createTestRun(store);
    const lease = await store.acquireRun(runId, owner, 30_000);
    return { runId, lease, cursor: lease.events[lease.events.length - 1]!.eventId };
  }

  it('returns the events it appended as the stream holds them, without reading them back', async () => {
    const { runId, lease, cursor } = await acquired();
    const reply = await store.commit(runId, lease.epoch, stepOps(1), cursor);
    expect(reply.unseen).to.deep.equal([]);
    expect(reply.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
    const stored = (await store.readAllEvents(runId)).slice(-2);
    expect(reply.own).to.have.length(2);
    expect(reply.own.map((e) => e!.eventId)).to.deep.equal(stored.map((e) => e.eventId));
    expect(reply.own.map((e) => [e!.type, e!.correlationId, e!.createdAt])).to.deep.equal(stored.map((e) => [e.type, e.correlationId, e.createdAt]));
    expect(reply.own.map((e) => JSON.parse(e!.data))).to.deep.equal(stored.map((e) => JSON.parse(e.data)));
    // Byte for byte, too: the data text the script composed (step_started's attempt) is the text stored.
    expect(reply.own.map((e) => e!.data)).to.deep.equal(stored.map((e) => e.data));
    // What replay reads from the data of its own step_created/step_started events comes pre-parsed, and agrees.
    expect(reply.own.map((e) => e!.parsed !== undefined)).to.deep.equal([true, true]);
    for (const e of reply.own) expect(deserialize(e!.data)).to.deep.include(e!.parsed as object);
    expect(reply.events).to.deep.equal(reply.own);
  });

  it('stores the workflow clock (wc) of a step result with it', async () => {
    const { runId, lease, cursor } = await acquired();
    const first = await store.commit(runId, lease.epoch, stepOps(1), cursor);
    const wc = Date.now() - 12_345;
    const reply = await store.commit(runId, lease.epoch, [{ t: 'step_completed', c: 'step_1', d: serialize({ result: 1 }), wc }], first.own[1]!.eventId);
    expect(reply.own[0]!.wc).to.equal(wc);
    const stored = (await store.readAllEvents(runId)).at(-1)!;
    expect(stored.type).to.equal('step_completed');
    expect(stored.wc).to.equal(wc);
    expect(stored.createdAt, 'createdAt stays server time').to.be.greaterThan(wc);
  });

  it('returns the events others appended after the cursor, before its own', async () => {
    const { runId, lease, cursor } = await acquired();
    await store.commit(runId, null, stepOps(1)); // another writer, unfenced
    const reply = await store.commit(runId, lease.epoch, stepOps(2), cursor);
    expect(reply.unseen.map((e) => `${e.type} ${e.correlationId}`)).to.deep.equal(['step_created step_1', 'step_started step_1']);
    expect(reply.events.map((e) => `${e.type} ${e.correlationId}`)).to.deep.equal([
      'step_created step_1',
      'step_started step_1',
      'step_created step_2',
      'step_started step_2',
    ]);
  });

  it('strict: refuses with StaleCommitError and writes nothing when the log has events after the cursor', async () => {
    const { runId, lease, cursor } = await acquired();
    await store.commit(runId, null, stepOps(1));
    const err = await expectNoWrites(suite.admin, () => store.commit(runId, lease.epoch, stepOps(2), cursor, { strict: true }));
    expect((err as Error)?.name).to.equal('StaleCommitError');
    const ok = await store.commit(runId, lease.epoch, stepOps(2), (await store.readAllEvents(runId)).at(-1)!.eventId, { strict: true });
    expect(ok.results.map((r) => r.r)).to.deep.equal(['ok', 'ok']);
  });

  it('releases the lease with the commit on request, and keeps it when unseen events come back', async () => {
    const { runId, lease, cursor } = await acquired('owner-r');
    const leaseKey = store.keys.runLease(runId);
    await store.commit(runId, null, stepOps(1));
    const kept = await store.commit(runId, lease.epoch, stepOps(2), cursor, { releaseOwner: 'owner-r' });
    expect(kept.released).to.equal(false);
    expect(await suite.admin.get(leaseKey)).to.equal('owner-r');
    const tail = kept.own.at(-1)!.eventId;
    const wrongOwner = await store.commit(runId, lease.epoch, [], tail, { releaseOwner: 'someone-else' });
    expect(wrongOwner.released).to.equal(false);
    const released = await store.commit(runId, lease.epoch, [{ t: 'run_completed', c: '', d: serialize({ output: 1 }), out: serialize(1) }], tail, {
      releaseOwner: 'owner-r',
    });
    expect(released.released).to.equal(true);
    expect(await suite.admin.exists(leaseKey)).to.equal(0);
    expect((await store.getRun(runId))?.status).to.equal('completed');
  });

  it('a batch settles each run on its own: a fenced run rejects, the others commit', async () => {
    const a = await acquired();
    const b = await acquired();
    const c = await acquired();
    const settled = await store.commitBatch([
      { runId: a.runId, epoch: a.lease.epoch, ops: stepOps(1), cursor: a.cursor },
      { runId: b.runId, epoch: b.lease.epoch + 1, ops: stepOps(1), cursor: b.cursor },
      { runId: c.runId, epoch: c.lease.epoch, ops: stepOps(1), cursor: c.cursor, opts: { releaseOwner: 'owner-1' } },
    ]);
    expect(settled.map((s) => s.status)).to.deep.equal(['fulfilled', 'rejected', 'fulfilled']);
    expect((settled[1] as PromiseRejectedResult).reason.name).to.equal('FencedError');
    const [evA, evB, evC] = await Promise.all([a, b, c].map((x) => store.readAllEvents(x.runId)));
    expect(evA!.map((e) => e.type)).to.deep.equal(['run_created', 'run_started', 'step_created', 'step_started']);
    expect(evB!.map((e) => e.type), 'the fenced run is untouched').to.deep.equal(['run_created', 'run_started']);
    expect(evC!.map((e) => e.type)).to.deep.equal(['run_created', 'run_started', 'step_created', 'step_started']);
    const replyA = (settled[0] as PromiseFulfilledResult<Awaited<ReturnType<Store['commit']>>>).value;
    expect(replyA.own.map((e) => e!.eventId)).to.deep.equal(evA!.slice(2).map((e) => e.eventId));
    expect((settled[2] as PromiseFulfilledResult<Awaited<ReturnType<Store['commit']>>>).value.released).to.equal(true);
  });

  it('a batch reports a run whose ops are malformed as an error of that run only', async () => {
    const a = await acquired();
    const b = await acquired();
    const settled = await store.commitBatch([
      { runId: a.runId, epoch: a.lease.epoch, ops: [{ t: 'no_such_op' } as unknown as CommitOp], cursor: a.cursor },
      { runId: b.runId, epoch: b.lease.epoch, ops: stepOps(1), cursor: b.cursor },
    ]);
    expect(settled[0]!.status).to.equal('rejected');
    expect(String((settled[0] as PromiseRejectedResult).reason.message)).to.include('WFR_BAD_OP');
    expect(settled[1]!.status).to.equal('fulfilled');
  });

  it('a single commit rejects a malformed op with an error naming it', async () => {
    const a = await acquired();
    const err = await rejectionOf(store.commit(a.runId, a.lease.epoch, [{ t: 'no_such_op' } as unknown as CommitOp], a.cursor));
    expect(err.message).to.include('WFR_BAD_OP');
  });
});

describe('Lua and TypeScript constants', () => {
  it('codes.lua and LuaCode (lib/errors/lua-codes.ts) define the same codes', () => {
    const lua = readFileSync(new URL('../../lib/redis/lua/includes/codes.lua', import.meta.url), 'utf8');
    const fromLua = Object.fromEntries([...lua.matchAll(/^local (?:ERR_)?([A-Z_]+) = (-?\d+)$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(fromLua).to.deep.equal({ ...LuaCode });
  });

  it('the Lua scripts list the run statuses in RUN_STATUSES order (the order of the status index keys)', () => {
    const dir = new URL('../../lib/redis/lua/', import.meta.url);
    const runStatus = readFileSync(new URL('includes/runStatus.lua', dir), 'utf8');
    const list = /^local RUN_STATUSES = \{ ([^}]*) \}$/m.exec(runStatus);
    expect(list, 'runStatus.lua defines RUN_STATUSES').to.not.equal(null);
    expect([...list![1]!.matchAll(/'([a-z]+)'/g)].map((m) => m[1])).to.deep.equal([...RUN_STATUSES]);
    const terminal = /^local TERMINAL = \{ ([^}]*) \}$/m.exec(runStatus);
    expect([...terminal![1]!.matchAll(/([a-z]+) = true/g)].map((m) => m[1])).to.deep.equal(RUN_STATUSES.filter((s) => s !== 'pending' && s !== 'running'));
    // Anywhere else a script lists statuses (code or its KEYS header), it lists all of them, in that order
    // (three or more names in a row, comma-separated; a transition such as 'pending', 'running' names two).
    const word = `(?:${RUN_STATUSES.join('|')})`;
    const run = new RegExp(`'?${word}'?(?:,\\s*'?${word}'?){2,}`, 'g');
    const files = ['', 'includes/'].flatMap((sub) =>
      readdirSync(new URL(sub || '.', dir)).filter((f) => f.endsWith('.lua')).map((f) => sub + f));
    let lists = 0;
    for (const f of files) {
      for (const m of readFileSync(new URL(f, dir), 'utf8').matchAll(run)) {
        lists++;
        expect(m[0].split(',').map((w) => w.trim().replace(/'/g, '')), `${f}: ${m[0]}`).to.deep.equal([...RUN_STATUSES]);
      }
    }
    expect(lists).to.be.greaterThan(3);
  });
});
