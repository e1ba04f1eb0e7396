/**
 * The World's transitions (lib/redis/lua/wdk*.lua through events.create),
 * each against a real Redis: the official contract's rules, the named errors,
 * byte-exact payloads, dense slot ids, and nothing written on a refusal.
 */
import { expect } from 'chai';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { binary, newRunId, openStorage, snapshot, type StorageUnderTest } from './_world.js';

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected the call to be rejected');
}

describe('world: transitions (events.create)', function () {
  let redis: TestRedis;
  let w: StorageUnderTest;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());
  beforeEach(() => (w = openStorage(redis.url)));
  afterEach(async () => w.close());

  async function createRun(input: unknown = binary(), extra: Record<string, unknown> = {}) {
    const runId = newRunId();
    const r = await w.storage.events.create(runId, { eventType: 'run_created', specVersion: 5, eventData: { deploymentId: 'd1', workflowName: 'wf', input, ...extra } } as any);
    return { runId, r };
  }
  async function startRun(runId: string) {
    return w.storage.events.create(runId, { eventType: 'run_started', specVersion: 5 } as any);
  }
  const ev = (runId: string, eventType: string, correlationId: string | undefined, eventData?: unknown, params?: any) =>
    w.storage.events.create(runId, { eventType, correlationId, eventData, specVersion: 5 } as any, params);

  it('run_created stores the run with byte-exact input and a dense slot id; a second create is EntityConflictError and writes nothing', async function () {
    const { runId, r } = await createRun(binary(7), { attributes: { team: 'a' }, executionContext: { x: 1 } });
    expect(r.event!.eventId).to.equal('evnt_' + '1'.padStart(26, '0'));
    expect(r.run!.status).to.equal('pending');
    const run = await w.storage.runs.get(runId);
    expect(Array.from(run.input as Uint8Array)).to.deep.equal(Array.from(binary(7)));
    expect(run.attributes).to.deep.equal({ team: 'a' });
    expect(run.executionContext).to.deep.equal({ x: 1 });
    expect(run.specVersion).to.equal(5);
    const before = await snapshot(w.ctx);
    const err = await rejection(w.storage.events.create(runId, { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any));
    expect(err.name).to.equal('EntityConflictError');
    expect(await snapshot(w.ctx)).to.equal(before);
  });

  it('run_created without a run id mints a wrun_ ULID; a stale client id is refused with a message, nothing written', async function () {
    const r = await w.storage.events.create(null, { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any);
    expect(r.run!.runId).to.match(/^wrun_[0-9A-HJKMNP-TV-Z]{26}$/);
    const before = await snapshot(w.ctx);
    const err = await rejection(w.storage.events.create('wrun_01ARZ3NDEKTSV4RRFFQ69G5FAV', { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any));
    expect(err.name).to.equal('WorkflowWorldError');
    expect(err.message).to.match(/24 hours/);
    expect(await snapshot(w.ctx)).to.equal(before);
  });

  it('run_started: pending -> running with the preloaded log; running again answers the run with no event; finished -> RunExpiredError', async function () {
    const { runId } = await createRun();
    const r1 = await startRun(runId);
    expect(r1.run!.status).to.equal('running');
    expect(r1.event!.eventType).to.equal('run_started');
    expect(r1.event!.eventId).to.equal('evnt_' + '2'.padStart(26, '0'));
    expect(r1.events!.map((e) => e.eventType)).to.deep.equal(['run_created', 'run_started']);
    expect(r1.hasMore).to.equal(false);
    const r2 = await startRun(runId);
    expect(r2.event).to.equal(undefined);
    expect(r2.run!.status).to.equal('running');
    expect((await w.storage.events.list({ runId })).data).to.have.length(2);
    await ev(runId, 'run_completed', undefined, { output: binary(3) });
    const err = await rejection(startRun(runId));
    expect(err.name).to.equal('RunExpiredError');
    const run = await w.storage.runs.get(runId);
    expect(run.status).to.equal('completed');
    expect(Array.from(run.output as Uint8Array)).to.deep.equal(Array.from(binary(3)));
  });

  it('run_started on a missing run creates it from the carried creation data (run_created first); without it WorkflowRunNotFoundError', async function () {
    const runId = newRunId();
    const err = await rejection(startRun(runId));
    expect(err.name).to.equal('WorkflowRunNotFoundError');
    const r = await w.storage.events.create(runId, { eventType: 'run_started', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary(9) } } as any, { skipPreload: true });
    expect(r.run!.status).to.equal('running');
    expect(r.events).to.equal(undefined);
    const log = (await w.storage.events.list({ runId })).data;
    expect(log.map((e) => e.eventType)).to.deep.equal(['run_created', 'run_started']);
    expect((log[1] as any).eventData).to.equal(undefined);
    expect(Array.from((await w.storage.runs.get(runId)).input as Uint8Array)).to.deep.equal(Array.from(binary(9)));
  });

  it('lazy step_started creates the step and its step_created atomically; a second lazy start is EntityConflictError and writes nothing', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    const r = await ev(runId, 'step_started', 'step_1', { stepName: 'add', input: binary(5), ownerMessageId: 'msg_1' });
    expect(r.stepCreated).to.equal(true);
    expect(r.step!.status).to.equal('running');
    expect(r.step!.attempt).to.equal(1);
    expect(Array.from(r.step!.input as Uint8Array)).to.deep.equal(Array.from(binary(5)));
    const log = (await w.storage.events.list({ runId })).data;
    expect(log.map((e) => `${e.eventType}:${e.correlationId ?? ''}`)).to.deep.equal(['run_created:', 'run_started:', 'step_created:step_1', 'step_started:step_1']);
    expect(log.map((e) => e.eventId)).to.deep.equal([1, 2, 3, 4].map((n) => 'evnt_' + String(n).padStart(26, '0')));
    expect(Array.from((log[2] as any).eventData.input)).to.deep.equal(Array.from(binary(5)));
    expect((log[3] as any).eventData).to.deep.equal({ stepName: 'add', ownerMessageId: 'msg_1' });
    const before = await snapshot(w.ctx);
    const err = await rejection(ev(runId, 'step_started', 'step_1', { stepName: 'add', input: binary(5), ownerMessageId: 'msg_2' }));
    expect(err.name).to.equal('EntityConflictError');
    expect(await snapshot(w.ctx)).to.equal(before);
  });

  it('concurrent lazy starts of one step: exactly one creates it', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => ev(runId, 'step_started', 'step_x', { stepName: 's', input: binary(i) })));
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).to.have.length(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.name === 'EntityConflictError')).to.equal(true);
    expect((await w.storage.events.list({ runId })).data.filter((e) => e.eventType === 'step_created')).to.have.length(1);
  });

  it('bare step_started needs the step; results are single-winner; retryAfter gives TooEarlyError in seconds', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    expect((await rejection(ev(runId, 'step_started', 'nope'))).name).to.equal('WorkflowWorldError');
    await ev(runId, 'step_created', 's1', { stepName: 'n', input: binary() });
    await ev(runId, 'step_started', 's1');
    const retryAfter = new Date(Date.now() + 5000);
    const rr = await ev(runId, 'step_retrying', 's1', { error: binary(2), retryAfter });
    expect(rr.step!.status).to.equal('pending');
    expect(rr.step!.retryAfter!.getTime()).to.equal(retryAfter.getTime());
    const early = await rejection(ev(runId, 'step_started', 's1'));
    expect(early.name).to.equal('TooEarlyError');
    expect((early as any).retryAfter).to.be.within(4, 5);
    await ev(runId, 'step_created', 's2', { stepName: 'n', input: binary() });
    await ev(runId, 'step_started', 's2');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => ev(runId, 'step_completed', 's2', { result: binary(4) })));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.name === 'EntityConflictError')).to.equal(true);
    const step = await w.storage.steps.get(runId, 's2');
    expect(step.status).to.equal('completed');
    expect(Array.from(step.output as Uint8Array)).to.deep.equal(Array.from(binary(4)));
  });

  it('step_completed with sinceCursor returns the delta written after the cursor', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    const page = await w.storage.events.list({ runId });
    await ev(runId, 'step_started', 's1', { stepName: 'n', input: binary() });
    const r = await ev(runId, 'step_completed', 's1', { result: binary(1) }, { sinceCursor: page.cursor });
    expect(r.events!.map((e) => e.eventType)).to.deep.equal(['step_created', 'step_started', 'step_completed']);
    expect(r.hasMore).to.equal(false);
    expect(r.cursor).to.equal('5');
  });

  it('a running step may complete after the run ended; a pending one is refused with RunExpiredError on start', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    await ev(runId, 'step_started', 'run1', { stepName: 'n', input: binary() });
    await ev(runId, 'step_created', 'pend', { stepName: 'n', input: binary() });
    await ev(runId, 'run_cancelled', undefined);
    const ok = await ev(runId, 'step_completed', 'run1', { result: binary() });
    expect(ok.step!.status).to.equal('completed');
    expect((await rejection(ev(runId, 'step_started', 'pend'))).name).to.equal('RunExpiredError');
    expect((await rejection(ev(runId, 'step_created', 'new', { stepName: 'n', input: binary() }))).name).to.equal('EntityConflictError');
  });

  it('wait_completed is single-winner and has no time check; missing waits are WorkflowWorldError', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    const resumeAt = new Date(Date.now() + 3_600_000);
    const c = await ev(runId, 'wait_created', 'w1', { resumeAt });
    expect(c.wait!.status).to.equal('waiting');
    expect(c.wait!.resumeAt!.getTime()).to.equal(resumeAt.getTime());
    expect((await rejection(ev(runId, 'wait_created', 'w1', { resumeAt }))).name).to.equal('EntityConflictError');
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => ev(runId, 'wait_completed', 'w1')));
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    expect(results.filter((r) => r.status === 'rejected').every((r) => (r as PromiseRejectedResult).reason.name === 'EntityConflictError')).to.equal(true);
    expect((await rejection(ev(runId, 'wait_completed', 'w2'))).name).to.equal('WorkflowWorldError');
    expect((await w.storage.events.list({ runId })).data.filter((e) => e.eventType === 'wait_completed')).to.have.length(1);
  });

  it('hook_created conflicts as native: same hook id -> EntityConflictError; a token held by a live hook (any run) -> hook_conflict event naming the holder', async function () {
    const a = await createRun();
    const b = await createRun();
    await startRun(a.runId);
    await startRun(b.runId);
    const h = await ev(a.runId, 'hook_created', 'hook_1', { token: 'tok', metadata: binary(8), isSystem: true });
    expect(h.hook!.token).to.equal('tok');
    expect(h.hook!.isSystem).to.equal(true);
    expect(h.hook!.specVersion).to.equal(5);
    const byToken = await w.storage.hooks.getByToken('tok');
    expect(byToken.runId).to.equal(a.runId);
    expect(Array.from(byToken.metadata as Uint8Array)).to.deep.equal(Array.from(binary(8)));
    expect((await rejection(ev(a.runId, 'hook_created', 'hook_1', { token: 'other' }))).name).to.equal('EntityConflictError');
    const same = await ev(a.runId, 'hook_created', 'hook_2', { token: 'tok' });
    expect(same.event!.eventType).to.equal('hook_conflict');
    const other = await ev(b.runId, 'hook_created', 'hook_1', { token: 'tok' });
    expect(other.event!.eventType).to.equal('hook_conflict');
    expect((other.event as any).eventData).to.deep.equal({ token: 'tok', conflictingRunId: a.runId });
    expect(other.hook).to.equal(undefined);
    // The holder is untouched; a received payload is recorded; after disposal the token is free again.
    await ev(a.runId, 'hook_received', 'hook_1', { payload: binary(1) });
    await ev(a.runId, 'hook_disposed', 'hook_1');
    expect((await rejection(ev(a.runId, 'hook_received', 'hook_1', { payload: binary() }))).name).to.equal('HookNotFoundError');
    expect((await rejection(ev(a.runId, 'hook_disposed', 'hook_1'))).name).to.equal('EntityConflictError');
    expect((await rejection(w.storage.hooks.getByToken('tok'))).name).to.equal('HookNotFoundError');
    const again = await ev(b.runId, 'hook_created', 'hook_9', { token: 'tok' });
    expect(again.event!.eventType).to.equal('hook_created');
  });

  it("a run's end releases its hook tokens and drops its waits; terminal transitions conflict", async function () {
    const { runId } = await createRun();
    await startRun(runId);
    await ev(runId, 'hook_created', 'h', { token: 'end-tok' });
    await ev(runId, 'wait_created', 'w', { resumeAt: new Date(Date.now() + 1000) });
    const f = await ev(runId, 'run_failed', undefined, { error: binary(6), errorCode: 'USER_ERROR' });
    expect(f.run!.status).to.equal('failed');
    expect(f.run!.errorCode).to.equal('USER_ERROR');
    expect(Array.from(f.run!.error as Uint8Array)).to.deep.equal(Array.from(binary(6)));
    expect((await rejection(w.storage.hooks.getByToken('end-tok'))).name).to.equal('HookNotFoundError');
    expect((await rejection(ev(runId, 'wait_completed', 'w'))).name).to.equal('WorkflowWorldError');
    expect((await rejection(ev(runId, 'run_completed', undefined, { output: binary() }))).name).to.equal('EntityConflictError');
    expect((await rejection(ev(runId, 'run_cancelled', undefined))).name).to.equal('EntityConflictError');
    expect((await rejection(ev(newRunId(), 'run_failed', undefined, { error: binary() }))).name).to.equal('WorkflowRunNotFoundError');
  });

  it('run_cancelled is idempotent (no second event)', async function () {
    const { runId } = await createRun();
    const c1 = await ev(runId, 'run_cancelled', undefined, { cancelReason: 'x' });
    expect(c1.run!.status).to.equal('cancelled');
    const c2 = await ev(runId, 'run_cancelled', undefined);
    expect(c2.run!.status).to.equal('cancelled');
    expect((await w.storage.events.list({ runId })).data.filter((e) => e.eventType === 'run_cancelled')).to.have.length(1);
  });

  it('attr_set merges, deletes with null, dedupes workflow writers per correlation id, enforces the limits', async function () {
    const { runId } = await createRun(binary(), { attributes: { a: '1' } });
    const r = await ev(runId, 'attr_set', 'attr_1', { changes: [{ key: 'b', value: '2' }, { key: 'a', value: null }], writer: { type: 'workflow' } });
    expect(r.run!.attributes).to.deep.equal({ b: '2' });
    expect((await rejection(ev(runId, 'attr_set', 'attr_1', { changes: [{ key: 'c', value: '3' }], writer: { type: 'workflow' } }))).name).to.equal('EntityConflictError');
    const before = await snapshot(w.ctx);
    expect((await rejection(ev(runId, 'attr_set', 'attr_2', { changes: [{ key: '$x', value: '3' }], writer: { type: 'workflow' } }))).message).to.match(/reserved/);
    const many = Array.from({ length: 64 }, (_, i) => ({ key: `k${i}`, value: 'v' }));
    expect((await rejection(ev(runId, 'attr_set', 'attr_3', { changes: many, writer: { type: 'step', stepId: 's', attempt: 1 } }))).message).to.match(/limit 64/);
    expect(await snapshot(w.ctx)).to.equal(before);
  });

  it('binary payloads are byte-exact through every payload field, and resolveData none strips only them', async function () {
    const all = new Uint8Array(256).map((_, i) => i);
    const { runId } = await createRun(all);
    await startRun(runId);
    await ev(runId, 'step_started', 's', { stepName: 'n', input: all });
    await ev(runId, 'step_completed', 's', { stepName: 'n', result: all });
    await ev(runId, 'hook_created', 'h', { token: 'bin', metadata: all });
    await ev(runId, 'hook_received', 'h', { payload: all });
    const log = (await w.storage.events.list({ runId })).data as any[];
    const payloads = [log[0].eventData.input, log[2].eventData.input, log[4].eventData.result, log[5].eventData.metadata, log[6].eventData.payload];
    for (const p of payloads) expect(Array.from(p)).to.deep.equal(Array.from(all));
    const bare = (await w.storage.events.list({ runId, resolveData: 'none' })).data as any[];
    expect(bare[0].eventData).to.deep.equal({ deploymentId: 'd1', workflowName: 'wf' });
    expect(bare[4].eventData).to.deep.equal({ stepName: 'n' });
    expect((await w.storage.runs.get(runId, { resolveData: 'none' })).input).to.equal(undefined);
  });

  it('events.list cursors stay valid while the log grows, both orders', async function () {
    const { runId } = await createRun();
    await startRun(runId);
    const p1 = await w.storage.events.list({ runId, pagination: { limit: 1 } });
    expect(p1.hasMore).to.equal(true);
    for (let i = 0; i < 5; i++) await ev(runId, 'wait_created', `w${i}`, { resumeAt: new Date() });
    const seen: string[] = p1.data.map((e) => e.eventId);
    let cursor = p1.cursor;
    for (;;) {
      const p = await w.storage.events.list({ runId, pagination: { limit: 2, cursor: cursor! } });
      seen.push(...p.data.map((e) => e.eventId));
      if (!p.hasMore) break;
      cursor = p.cursor;
    }
    expect(seen).to.deep.equal([1, 2, 3, 4, 5, 6, 7].map((n) => 'evnt_' + String(n).padStart(26, '0')));
    const desc = await w.storage.events.list({ runId, pagination: { sortOrder: 'desc', limit: 3 } });
    expect(desc.data.map((e) => e.eventType)).to.deep.equal(['wait_created', 'wait_created', 'wait_created']);
    const rest = await w.storage.events.list({ runId, pagination: { sortOrder: 'desc', cursor: desc.cursor! } });
    expect(rest.data.map((e) => e.eventId).at(-1)).to.equal('evnt_' + '1'.padStart(26, '0'));
  });

  it('runs.list pages by a stable cursor while runs change status', async function () {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createRun()).runId);
    const p1 = await w.storage.runs.list({ status: 'pending', pagination: { limit: 3, sortOrder: 'asc' } });
    expect(p1.data.map((r) => r.runId)).to.deep.equal(ids.slice(0, 3));
    await startRun(ids[0]!);
    await startRun(ids[4]!);
    const p2 = await w.storage.runs.list({ status: 'pending', pagination: { limit: 3, sortOrder: 'asc', cursor: p1.cursor! } });
    expect(p2.data.map((r) => r.runId)).to.deep.equal([ids[3], ids[5], ids[6]]);
    const all = await w.storage.runs.list({ workflowName: 'wf', resolveData: 'none' });
    expect(all.data).to.have.length(7);
    expect(all.data[0]!.input).to.equal(undefined);
  });

  it('bad requests are WorkflowWorldError 400s that say what to send, and write nothing', async function () {
    const { runId } = await createRun();
    const before = await snapshot(w.ctx);
    const bad: [string | null, unknown][] = [
      [runId, null],
      [runId, { eventType: 'hook_conflict', correlationId: 'x', eventData: { token: 't' } }],
      [runId, { eventType: 'nope' }],
      [runId, { eventType: 'step_created', eventData: { stepName: 'x', input: binary() } }],
      [runId, { eventType: 'step_created', correlationId: 's', eventData: { input: binary() } }],
      [runId, { eventType: 'wait_created', correlationId: 'w', eventData: { resumeAt: 'not a date' } }],
      [runId, { eventType: 'hook_created', correlationId: 'h', eventData: { token: '' } }],
      [null, { eventType: 'step_completed', correlationId: 's', eventData: { result: binary() } }],
      ['bad id with spaces', { eventType: 'run_started' }],
    ];
    for (const [id, req] of bad) {
      const err = await rejection(w.storage.events.create(id as string, req as any));
      expect(err.name, JSON.stringify(req)).to.equal('WorkflowWorldError');
      expect((err as any).status, JSON.stringify(req)).to.equal(400);
    }
    expect((await rejection(w.storage.events.list({ runId, pagination: { limit: 5000 } }))).message).to.match(/1 to 1000/);
    expect((await rejection(w.storage.events.list({ runId, pagination: { cursor: 'zzz' } }))).message).to.match(/cursor/);
    expect(await snapshot(w.ctx)).to.equal(before);
  });
});
