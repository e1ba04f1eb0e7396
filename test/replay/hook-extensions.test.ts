/**
 * The replay engine's side of hook timeouts, hooks claimed by start() and
 * tags, without Redis: the ops and timers a new hook asks for, and replays of
 * hand-written logs (cold, and warm in batches) delivering the same payloads
 * and the same HookTimeoutError at the same point.
 */
import { expect } from 'chai';
import { createHook, sleep } from 'workflow-redis';
import type { CommitOp } from '../../lib/redis/store-types.js';
import { LogBuilder, newExecution, opLines, replay, replayInBatches, snapshot, type ReplaySpec } from './_harness.js';

const WF = 'replay-hooks-ext.wf';
const T0 = 1_700_000_000_000;
const spec = (fn: (...args: any[]) => unknown, args: unknown[] = []): ReplaySpec => ({ runId: 'wrun_hx', workflowName: WF, startedAt: T0, fn, args });
const started = () => new LogBuilder(T0 - 2).runCreated(WF).runStarted(T0);

/** Collects payloads until the hook times out; returns them and the error's name. */
async function collectUntilTimeout(token: string) {
  const hook = createHook<number>({ token, timeout: 5000, tags: ['order:42'] });
  const got: number[] = [];
  try {
    for await (const p of hook) got.push(p);
  } catch (err) {
    return { got, error: (err as Error).name, token: (err as { token?: string }).token };
  }
  return { got, error: null };
}

describe('replay engine: hook timeouts, claimed hooks, tags (no Redis)', () => {
  it('a new hook with a timeout and tags: hook_created carries them, and a timer is asked for under the hook id', async () => {
    const ex = newExecution(spec(collectUntilTimeout, ['tk']));
    await ex.begin(collectUntilTimeout, ['tk'], []);
    const intents = ex.intents(T0, false);
    const op = intents.ops[0] as Extract<CommitOp, { t: 'hook_created' }>;
    expect(op.t).to.equal('hook_created');
    expect(op.tg).to.deep.equal(['order:42']);
    expect(op.to).to.be.a('number').that.is.at.least(T0 + 5000);
    expect(intents.timers).to.deep.equal([{ id: 'hook_1', resumeAt: op.to }]);
  });

  it('payloads before hook_timed_out are delivered in order, then HookTimeoutError; cold and warm replays agree', async () => {
    const log = started()
      .add('hook_created', 'hook_1', { token: 'tk', isWebhook: false, timeoutAt: T0 + 5000, tags: ['order:42'] })
      .hookReceived('hook_1', 1)
      .hookReceived('hook_1', 2)
      .hookReceived('hook_1', 3)
      .add('hook_timed_out', 'hook_1', { timeoutAt: T0 + 5000 }, { at: T0 + 5000 });
    const s = spec(collectUntilTimeout, ['tk']);
    const cold = await replay(s, log.events);
    expect(cold.outcome).to.deep.equal({ kind: 'returned', value: { got: [1, 2, 3], error: 'HookTimeoutError', token: 'tk' } });
    const warm = await replayInBatches(s, [log.events.slice(0, 3), log.events.slice(3, 5), log.events.slice(5)], T0 + 10_000);
    expect(snapshot(warm, T0 + 10_000)).to.deep.equal(snapshot(cold, T0 + 10_000));
  });

  it('payloads buffered while the code was elsewhere are still delivered before the timeout rejects', async () => {
    const late = async (token: string) => {
      const hook = createHook<string>({ token, timeout: 1000 });
      await sleep(2000);
      const got: string[] = [];
      try {
        for await (const p of hook) got.push(p);
      } catch (err) {
        got.push((err as Error).name);
      }
      return got;
    };
    const log = started()
      .add('hook_created', 'hook_1', { token: 't2', isWebhook: false, timeoutAt: T0 + 1000 })
      .waitCreated('wait_1', T0 + 2000)
      .hookReceived('hook_1', 'a')
      .hookReceived('hook_1', 'b')
      .add('hook_timed_out', 'hook_1', { timeoutAt: T0 + 1000 }, { at: T0 + 1000 })
      .waitCompleted('wait_1', T0 + 2000, { at: T0 + 2000 });
    const ex = await replay(spec(late, ['t2']), log.events);
    expect(ex.outcome).to.deep.equal({ kind: 'returned', value: ['a', 'b', 'HookTimeoutError'] });
  });

  it('a disposed hook asks for no timer; a timed-out hook asks for no dispose', async () => {
    const wf = async () => {
      const h = createHook<string>({ token: 'd1', timeout: '1h' });
      h.dispose();
      await sleep('1d');
    };
    const ex = newExecution(spec(wf));
    await ex.begin(wf, [], []);
    const intents = ex.intents(T0, false);
    expect(opLines(intents.ops)).to.deep.equal(['hook_created hook_1', 'hook_disposed hook_1', 'wait_created wait_1']);
    expect(intents.timers.map((t) => t.id)).to.deep.equal(['wait_1']);

    const afterTimeout = async () => {
      const h = createHook<string>({ token: 'd2', timeout: 10 });
      try {
        await h;
      } catch {
        h.dispose();
      }
      await sleep('1d');
    };
    const log = started().add('hook_created', 'hook_1', { token: 'd2', isWebhook: false, timeoutAt: T0 + 10 }).add('hook_timed_out', 'hook_1', {});
    const ex2 = await replay(spec(afterTimeout), log.events);
    expect(opLines(ex2.intents(T0 + 100, false).ops)).to.deep.equal(['wait_created wait_1']);
  });

  describe('the hook start() claimed (hook_0)', () => {
    /** A log of a run started with { hook: { token } } and resumed `n` times before its first replay. */
    const claimedLog = (token: string, n: number) => {
      const b = new LogBuilder(T0 - 2).runCreated(WF).add('hook_created', 'hook_0', { token, isWebhook: false, claimed: true });
      for (let i = 0; i < n; i++) b.hookReceived('hook_0', i);
      return b.runStarted(T0);
    };
    const adopt = async (token: string, count: number) => {
      const hook = createHook<number>({ token, timeout: '1h' });
      const other = createHook<number>({ token: `${token}:other` });
      const got: number[] = [];
      for await (const p of hook) {
        got.push(p);
        if (got.length === count) break;
      }
      return { got, hookIds: [other.token] };
    };

    it('createHook({ token }) adopts it: the payloads received before are delivered in order; other hooks keep hook_1...', async () => {
      const ex = await replay(spec(adopt, ['c1', 5]), claimedLog('c1', 3).events);
      expect(ex.outcome.kind).to.equal('running');
      const intents = ex.intents(T0 + 10, false);
      expect(opLines(intents.ops)).to.deep.equal(['hook_adopted hook_0', 'hook_created hook_1']);
      const adopted = intents.ops[0] as Extract<CommitOp, { t: 'hook_adopted' }>;
      expect(adopted.to).to.be.a('number');
      expect(intents.timers.map((t) => t.id)).to.deep.equal(['hook_0']);

      const done = claimedLog('c1', 3)
        .add('hook_adopted', 'hook_0', { timeoutAt: adopted.to })
        .hookCreated('hook_1', 'c1:other')
        .hookReceived('hook_0', 3)
        .hookReceived('hook_0', 4);
      const ex2 = await replay(spec(adopt, ['c1', 5]), done.events);
      expect(ex2.outcome).to.deep.equal({ kind: 'returned', value: { got: [0, 1, 2, 3, 4], hookIds: ['c1:other'] } });
      const warm = await replayInBatches(spec(adopt, ['c1', 5]), [done.events.slice(0, 4), done.events.slice(4)], T0 + 10);
      expect(warm.outcome).to.deep.equal(ex2.outcome);
    });

    it('a code that never adopts it replays without divergence (the payloads stay unread)', async () => {
      const ignore = async () => 'done';
      const ex = await replay(spec(ignore), claimedLog('c2', 2).events);
      expect(ex.divergence).to.equal(undefined);
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: 'done' });
    });

    it('a createHook with another token is a hook of its own (hook_1), not the claim', async () => {
      const other = async () => createHook<number>({ token: 'not-the-claim' });
      const ex = await replay(spec(other), claimedLog('c3', 1).events);
      expect(opLines(ex.intents(T0, false).ops)).to.deep.equal(['hook_created hook_1']);
    });
  });
});
