/**
 * ARCHITECTURE §3 / §5.2: a token is unique among live hooks. The claim is atomic with
 * the hook_created / hook_conflict event; the token is free again once the
 * winner's hook is disposed or its run ends.
 */
import { expect } from 'chai';
import { configure, closeWorkflowClient, getHookByToken, resumeHook } from 'workflow-redis/api';
import { getStore } from '../../lib/runtime/config.js';
import type { Store } from '../../lib/redis/store.js';
import type { StoredEvent } from '../../lib/redis/store-types.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { claimHook, completeRun, createTestRun, disposeHook, eventsOfType, receivedPayloads, rejectionOf } from './helpers.js';

function hookEvents(events: StoredEvent[]): StoredEvent[] {
  return events.filter((e) => e.type === 'hook_created' || e.type === 'hook_conflict');
}

describe('hook tokens: unique among live hooks', function () {
  let redis: TestRedis;
  let store: Store;

  before(async function () {
    redis = await startRedis();
  });

  after(async function () {
    await closeWorkflowClient();
    await redis?.stop();
  });

  beforeEach(async function () {
    configure({ connection: redis.url, prefix: uniquePrefix('tok') });
    store = await getStore();
  });

  afterEach(async function () {
    await closeWorkflowClient();
  });

  it('two runs claim one custom token concurrently: exactly one wins, the other records hook_conflict naming the winner', async function () {
    const runA = await createTestRun(store);
    const runB = await createTestRun(store);
    const token = 'approval:order-42';
    const claim = (runId: string) =>
      store.commit(runId, null, [
        { t: 'hook_created', c: 'hook_1', d: serialize({ token }), tk: token, wh: false, md: serialize({ by: runId }) },
      ]);
    const [resA, resB] = await Promise.all([claim(runA), claim(runB)]);

    const results = [resA.results[0]!, resB.results[0]!];
    expect(results.map((r) => r.r).sort()).to.deep.equal(['conflict', 'ok']);
    const winner = results[0]!.r === 'ok' ? runA : runB;
    const loser = winner === runA ? runB : runA;
    const loserResult = winner === runA ? results[1]! : results[0]!;
    expect(loserResult.conflictingRunId).to.equal(winner);

    const winnerEvents = hookEvents(await store.readAllEvents(winner));
    const loserEvents = hookEvents(await store.readAllEvents(loser));
    const all = [...winnerEvents, ...loserEvents];
    expect(all.filter((e) => e.type === 'hook_created')).to.have.length(1);
    expect(all.filter((e) => e.type === 'hook_conflict')).to.have.length(1);
    expect(winnerEvents.map((e) => e.type)).to.deep.equal(['hook_created']);
    expect(loserEvents.map((e) => e.type)).to.deep.equal(['hook_conflict']);
    expect(loserEvents[0]!.correlationId).to.equal('hook_1');
    const conflict = deserialize<{ token: string; conflictingRunId: string }>(loserEvents[0]!.data);
    expect(conflict.conflictingRunId).to.equal(winner);
    expect(conflict.token).to.equal(token);

    const hook = await getHookByToken<{ by: string }>(token);
    expect(hook.runId).to.equal(winner);
    expect(hook.hookId).to.equal('hook_1');
    expect(hook.metadata).to.deep.equal({ by: winner });

    // A resume reaches the winner only.
    expect((await resumeHook(token, 'hello')).runId).to.equal(winner);
    expect(await receivedPayloads(store, winner)).to.deep.equal(['hello']);
    expect(await receivedPayloads(store, loser)).to.deep.equal([]);
  });

  it('many runs race for one token: exactly one hook_created in total', async function () {
    const runs = await Promise.all(Array.from({ length: 20 }, () => createTestRun(store)));
    const token = 'contested';
    const replies = await Promise.all(
      runs.map((runId) => store.commit(runId, null, [{ t: 'hook_created', c: 'h', d: serialize({ token }), tk: token, wh: false }])),
    );
    const oks = replies.map((r, i) => [r.results[0]!, runs[i]!] as const).filter(([r]) => r.r === 'ok');
    expect(oks).to.have.length(1);
    const winner = oks[0]![1];
    for (const reply of replies) {
      if (reply.results[0]!.r !== 'ok') expect(reply.results[0]!.conflictingRunId).to.equal(winner);
    }
    let created = 0;
    let conflicts = 0;
    for (const runId of runs) {
      created += (await eventsOfType(store, runId, 'hook_created')).length;
      conflicts += (await eventsOfType(store, runId, 'hook_conflict')).length;
    }
    expect([created, conflicts]).to.deep.equal([1, runs.length - 1]);
    expect((await getHookByToken(token)).runId).to.equal(winner);
  });

  it("the token can be claimed by a third run once the winner's run has completed", async function () {
    const runA = await createTestRun(store);
    const runB = await createTestRun(store);
    const token = 'approval:reusable';
    expect((await claimHook(store, runA, token)).r).to.equal('ok');
    const lost = await claimHook(store, runB, token);
    expect(lost.r).to.equal('conflict');
    expect(lost.conflictingRunId).to.equal(runA);

    await completeRun(store, runA);
    expect((await rejectionOf(getHookByToken(token))).name).to.equal('HookNotFoundError');

    const runC = await createTestRun(store);
    const third = await claimHook(store, runC, token, { hookId: 'hook_c', metadata: { third: true } });
    expect(third.r).to.equal('ok');
    const hook = await getHookByToken(token);
    expect(hook.runId).to.equal(runC);
    expect(hook.hookId).to.equal('hook_c');
    expect(hook.metadata).to.deep.equal({ third: true });
    expect((await resumeHook(token, { to: 'C' })).runId).to.equal(runC);
    expect(await receivedPayloads(store, runC)).to.deep.equal([{ to: 'C' }]);
  });

  it("the token can be claimed again once the winner's run was cancelled", async function () {
    const runA = await createTestRun(store);
    const token = 'approval:after-cancel';
    expect((await claimHook(store, runA, token)).r).to.equal('ok');
    expect(await store.cancelRun(runA)).to.equal(true);
    const runB = await createTestRun(store);
    expect((await claimHook(store, runB, token)).r).to.equal('ok');
    expect((await getHookByToken(token)).runId).to.equal(runB);
  });

  it('a second hook of the same run with the same token conflicts (naming its own run)', async function () {
    const runA = await createTestRun(store);
    const token = 'same-run-token';
    expect((await claimHook(store, runA, token, { hookId: 'hook_1' })).r).to.equal('ok');
    const second = await claimHook(store, runA, token, { hookId: 'hook_2' });
    expect(second.r).to.equal('conflict');
    expect(second.conflictingRunId).to.equal(runA);

    const events = hookEvents(await store.readAllEvents(runA));
    expect(events.map((e) => [e.type, e.correlationId])).to.deep.equal([
      ['hook_created', 'hook_1'],
      ['hook_conflict', 'hook_2'],
    ]);
    expect(deserialize<{ conflictingRunId: string }>(events[1]!.data).conflictingRunId).to.equal(runA);
    // The first hook keeps the token.
    expect((await getHookByToken(token)).hookId).to.equal('hook_1');
    expect((await resumeHook(token, 1)).hookId).to.equal('hook_1');
  });

  it('re-committing the same hook_created is idempotent (no second event, no conflict with itself)', async function () {
    const runA = await createTestRun(store);
    const token = 'idempotent-claim';
    expect((await claimHook(store, runA, token)).r).to.equal('ok');
    expect((await claimHook(store, runA, token)).r).to.equal('exists');
    expect(hookEvents(await store.readAllEvents(runA)).map((e) => e.type)).to.deep.equal(['hook_created']);
  });

  it('disposing the hook (hook_disposed) frees the token for another run', async function () {
    const runA = await createTestRun(store);
    const runB = await createTestRun(store);
    const token = 'dispose-me';
    expect((await claimHook(store, runA, token)).r).to.equal('ok');
    expect((await claimHook(store, runB, token, { hookId: 'early' })).r).to.equal('conflict');

    await disposeHook(store, runA, 'hook_1');
    expect(await eventsOfType(store, runA, 'hook_disposed')).to.have.length(1);
    expect((await rejectionOf(getHookByToken(token))).name).to.equal('HookNotFoundError');

    const again = await claimHook(store, runB, token, { hookId: 'late' });
    expect(again.r).to.equal('ok');
    expect((await getHookByToken(token)).runId).to.equal(runB);
    // Disposing A's hook a second time does not touch B's claim.
    const { results } = await store.commit(runA, null, [{ t: 'hook_disposed', c: 'hook_1', d: serialize({}) }]);
    expect(results[0]!.r).to.equal('exists');
    expect((await getHookByToken(token)).runId).to.equal(runB);
  });

  it('disposing within the same run frees the token for a new hook of that run', async function () {
    const runA = await createTestRun(store);
    const token = 'rotate';
    expect((await claimHook(store, runA, token, { hookId: 'hook_1' })).r).to.equal('ok');
    await disposeHook(store, runA, 'hook_1');
    expect((await claimHook(store, runA, token, { hookId: 'hook_2' })).r).to.equal('ok');
    expect((await getHookByToken(token)).hookId).to.equal('hook_2');
  });

  it("completing the loser's run does not release the winner's token", async function () {
    const runA = await createTestRun(store);
    const runB = await createTestRun(store);
    const token = 'keep-winner';
    expect((await claimHook(store, runA, token)).r).to.equal('ok');
    expect((await claimHook(store, runB, token)).r).to.equal('conflict');
    await completeRun(store, runB);
    expect((await getHookByToken(token)).runId).to.equal(runA);
    expect((await resumeHook(token, 'still-live')).runId).to.equal(runA);
  });
});
