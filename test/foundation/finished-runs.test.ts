/**
 * ARCHITECTURE §7.3 "Finished means finished": once a run ends (completed, failed,
 * cancelled), or once its hook is disposed, resumeHook on the token rejects
 * with HookNotFoundError and appends nothing; getHookByToken rejects too.
 */
import { expect } from 'chai';
import { closeWorkflowClient, getHookByToken, HookNotFoundError, resumeHook } from 'workflow-redis/api';
import { Store } from '../../lib/redis/store.js';
import { serialize } from '../../lib/serialization/codec.js';
import {
  foundationSuite,
  adminClient,
  claimHook,
  completeRun,
  createTestRun,
  disposeHook,
  expectNoWrites,
  receivedPayloads } from './helpers.js';

function expectHookNotFound(err: unknown, token: string): void {
  expect(err, 'a rejection').to.be.instanceOf(Error);
  const e = err as HookNotFoundError;
  expect(e.name).to.equal('HookNotFoundError');
  expect(e).to.be.instanceOf(HookNotFoundError);
  expect(e.token).to.equal(token);
  expect(e.message).to.equal('Hook not found');
  expect(HookNotFoundError.is(e)).to.equal(true);
}

describe('finished runs and disposed hooks refuse resumes', function () {
  let store: Store;

  const suite = foundationSuite('fin');

  beforeEach(async function () {
    store = await suite.freshStore();
  });

  afterEach(async function () {
    await closeWorkflowClient();
  });

  /** resumeHook and getHookByToken reject with HookNotFoundError, and neither writes anything. */
  async function expectRefused(runId: string, token: string): Promise<void> {
    const count = await store.eventCount(runId);
    const thrown = await expectNoWrites(suite.admin, () => resumeHook(token, { late: true }));
    expectHookNotFound(thrown, token);
    expect(await store.eventCount(runId), 'stream length').to.equal(count);
    const lookup = await expectNoWrites(suite.admin, () => getHookByToken(token));
    expectHookNotFound(lookup, token);
  }

  it('a completed run: resumeHook rejects with HookNotFoundError and appends nothing', async function () {
    const runId = await createTestRun(store);
    const token = `done:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    expect((await resumeHook(token, 'before')).runId).to.equal(runId);
    await completeRun(store, runId, { result: 'ok' });
    await expectRefused(runId, token);
    expect(await receivedPayloads(store, runId)).to.deep.equal(['before']);
  });

  it('a completed run releases every one of its tokens', async function () {
    const runId = await createTestRun(store);
    const tokens = ['a', 'b', 'c'].map((s) => `${s}:${runId}`);
    for (const [i, token] of tokens.entries()) expect((await claimHook(store, runId, token, { hookId: `hook_${i}` })).r).to.equal('ok');
    await completeRun(store, runId);
    for (const token of tokens) await expectRefused(runId, token);
    expect(await store.getHook(tokens[0]!)).to.equal(null);
  });

  it('a cancelled run: resumeHook rejects with HookNotFoundError and appends nothing', async function () {
    const runId = await createTestRun(store);
    const token = `cancelled:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    expect(await store.cancelRun(runId)).to.equal(true);
    expect((await store.getRun(runId))?.status).to.equal('cancelled');
    await expectRefused(runId, token);
    expect(await receivedPayloads(store, runId)).to.deep.equal([]);
  });

  it('a failed run: resumeHook rejects with HookNotFoundError and appends nothing', async function () {
    const runId = await createTestRun(store);
    const token = `failed:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    const { results } = await store.commit(runId, null, [
      { t: 'run_failed', c: '', d: serialize({ error: { message: 'boom' } }), err: JSON.stringify({ message: 'boom' }) },
    ]);
    expect(results[0]!.r).to.equal('ok');
    expect((await store.getRun(runId))?.status).to.equal('failed');
    await expectRefused(runId, token);
  });

  it('a disposed hook of a live run: resumeHook rejects with HookNotFoundError and appends nothing', async function () {
    const runId = await createTestRun(store);
    const token = `disposed:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    await disposeHook(store, runId, 'hook_1');
    expect((await store.getRun(runId))?.status).to.equal('pending');
    await expectRefused(runId, token);
  });

  it('an unknown token rejects the same way', async function () {
    const runId = await createTestRun(store);
    await expectRefused(runId, 'never-created');
  });

  it('a stale token record whose run has finished is refused by the script itself', async function () {
    // Defence in depth: even if a token record outlived its run, the resume
    // script checks the run status and writes nothing.
    const runId = await createTestRun(store);
    const token = `stale:${runId}`;
    await completeRun(store, runId);
    await suite.admin.hset(
      store.keys.hooks(),
      token,
      JSON.stringify({ runId, hookId: 'hook_1', token, createdAt: Date.now(), isWebhook: false }),
    );
    await expectRefused(runId, token);
  });

  it('a resume racing with completion is either appended before run_completed or refused', async function () {
    const runId = await createTestRun(store);
    const token = `race:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    // Completion goes through its own connection, fired once some resumes have landed.
    const other = adminClient(suite.redis.url);
    const otherStore = await Store.open({ client: other, prefix: store.keys.prefix });
    try {
      let completion: Promise<void> | undefined;
      let landed = 0;
      const resumes = Array.from({ length: 200 }, (_, i) =>
        resumeHook(token, i).then(
          () => {
            if (++landed === 10) completion = completeRun(otherStore, runId);
            return 'ok' as const;
          },
          (err: Error) => {
            expectHookNotFound(err, token);
            return 'refused' as const;
          },
        ),
      );
      const outcomes = await Promise.all(resumes);
      await completion;
      expect(completion, 'completion was fired').to.not.equal(undefined);
      const events = await store.readAllEvents(runId);
      const completedAt = events.findIndex((e) => e.type === 'run_completed');
      expect(completedAt).to.equal(events.length - 1);
      const received = events.flatMap((e, i) => (e.type === 'hook_received' ? [i] : []));
      expect(received.length, 'one event per accepted resume').to.equal(outcomes.filter((o) => o === 'ok').length);
      expect(received.length).to.be.at.least(10);
      for (const i of received) expect(i, 'hook_received after run_completed').to.be.lessThan(completedAt);
    } finally {
      await otherStore.close();
      other.disconnect();
    }
  });
});
