/**
 * Compatibility guard: event logs recorded by real runs (fixtures/*.json,
 * written by record-fixtures.ts from `store.readAllEvents(runId)`) replayed
 * against the current engine and the workflow code of _workflows.ts, without
 * Redis. A replay of a recorded log must not diverge, must reach the recorded
 * end (the same output or error; nothing left to do for a completed or
 * suspended run), and every intent it has on the way must be one the log
 * then records. A change to lib/ that breaks any of this would break runs
 * in flight across a deploy.
 */
import { expect } from 'chai';
import { createHook, sleep } from 'workflow-redis';
import type { CommitOp, StoredEvent } from '../../lib/redis/store-types.js';
import { seededRandom } from '../../lib/replay/determinism.js';
import type { Execution } from '../../lib/replay/execution.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { fixtureNames, fixtureSpec, loadFixture, opLines, replay, replayInBatches, snapshot, type Fixture, type ReplaySpec } from './_harness.js';
import * as W from './_workflows.js';

const EXPECTED = [
  'fails',
  'hook-generations',
  'hook-suspended',
  'hook-two-payloads',
  'parallel',
  'race-hook-wins',
  'race-sleep-wins',
  'sleep',
  'sleep-suspended',
  'step-retry',
  'three-steps',
];

/** The real clock the worker would have had right after event `k - 1`: when the next event was written. */
function realNowAt(fx: Fixture, k: number): number {
  return k < fx.events.length ? fx.events[k]!.createdAt : fx.recordedAt;
}

const find = (fx: Fixture, type: StoredEvent['type'], c = '') => {
  const ev = fx.events.find((e) => e.type === type && (c === '' || e.correlationId === c));
  if (!ev) throw new Error(`${fx.name}: no ${type} ${c}`);
  return ev;
};

const returned = (ex: Execution) => {
  expect(ex.outcome.kind, `outcome (divergence: ${ex.divergence?.message})`).to.equal('returned');
  return (ex.outcome as { value: any }).value;
};

/** A hook_created op whose token differs from the one the log records next for that hook (a random token not committed yet). */
function draftsOtherToken(ops: CommitOp[], rest: StoredEvent[]): boolean {
  return ops.some((op) => {
    if (op.t !== 'hook_created') return false;
    const rec = rest.find((e) => (e.type === 'hook_created' || e.type === 'hook_conflict') && e.correlationId === op.c);
    return rec !== undefined && deserialize<{ token: string }>(rec.data).token !== op.tk;
  });
}

/** The events a commit of `ops` appends at server time `at` (as commitRun.lua writes them). */
function committed(ops: CommitOp[], at: number): StoredEvent[] {
  return ops.map((op, i) => ({
    eventId: `${at}-${i}`,
    type: op.t,
    correlationId: op.c,
    data: op.t === 'step_started' ? '{"json":{"attempt":1}}' : (op as { d: string }).d,
    createdAt: at,
  }));
}

describe('replay engine: recorded event logs replay against the current code (no Redis)', () => {
  it('every fixture is known here (and every known one is on disk)', () => {
    expect(fixtureNames()).to.deep.equal(EXPECTED);
    for (const name of EXPECTED) {
      const fx = loadFixture(name);
      expect(fx.events.length, name).to.be.above(2);
      expect(fx.events[0]!.type).to.equal('run_created');
      expect(W.ALL_WORKFLOWS.map((w) => w.workflowName)).to.include(fx.workflowName);
    }
  });

  for (const name of EXPECTED) {
    describe(name, () => {
      const fx = loadFixture(name);
      const s = () => fixtureSpec(fx);

      it('replays without divergence to the recorded end', async () => {
        const ex = await replay(s(), fx.events);
        expect(ex.divergence?.message).to.equal(undefined);
        expect(ex.cursor).to.equal(fx.events[fx.events.length - 1]!.eventId);
        expect(ex.consumed).to.equal(fx.events.length);
        if (fx.status === 'completed') {
          expect(ex.terminal).to.equal(true);
          expect(serialize(returned(ex), 'the workflow return value')).to.equal(fx.output);
        } else if (fx.status === 'failed') {
          expect(ex.terminal).to.equal(true);
          expect(ex.outcome.kind).to.equal('threw');
          const err = (ex.outcome as { error: Error }).error;
          const rec = JSON.parse(fx.error!) as { name: string; message: string };
          expect({ name: err.name, message: err.message }).to.deep.equal({ name: rec.name, message: rec.message });
        } else {
          // Suspended: still running, waiting on something outside, nothing new to commit.
          expect(ex.terminal).to.equal(false);
          expect(ex.outcome.kind).to.equal('running');
          expect(ex.finished).to.equal(false);
          expect(ex.waitsOnOutside).to.equal(true);
        }
        expect(ex.intents(realNowAt(fx, fx.events.length), false)).to.deep.equal({ ops: [], inline: [], queued: [], timers: [] });
      });

      if (fx.status !== 'running') {
        it('without its terminal event, the replay commits exactly the recorded terminal event', async () => {
          const last = fx.events[fx.events.length - 1]!;
          expect(last.type).to.equal(fx.status === 'completed' ? 'run_completed' : 'run_failed');
          const ex = await replay(s(), fx.events.slice(0, -1));
          const { ops, inline, queued, timers } = ex.intents(last.createdAt, false);
          expect([inline, queued, timers]).to.deep.equal([[], [], []]);
          expect(opLines(ops)).to.deep.equal([last.type]);
          const op = ops[0]!;
          if (op.t === 'run_completed') {
            expect(op.d).to.equal(last.data);
            expect(op.out).to.equal(fx.output);
          } else if (op.t === 'run_failed') {
            const pick = (t: string) => (({ name, message }) => ({ name, message }))(JSON.parse(t) as { name: string; message: string });
            expect(pick(op.err)).to.deep.equal(pick(fx.error!));
            expect(deserialize<{ error: { message: string } }>(op.d).error.message).to.equal(deserialize<{ error: { message: string } }>(last.data).error.message);
          }
        });
      }

      it('at every prefix of the log: no divergence, and each intent is recorded later in the log', async () => {
        for (let k = 0; k <= fx.events.length; k++) {
          const prefix = fx.events.slice(0, k);
          const rest = fx.events.slice(k);
          const ex = await replay(s(), prefix);
          expect(ex.divergence?.message, `prefix ${k}`).to.equal(undefined);
          const { ops } = ex.intents(realNowAt(fx, k), false);
          for (const line of opLines(ops)) {
            expect(
              rest.some((e) => (e.correlationId ? `${e.type} ${e.correlationId}` : e.type) === line),
              `prefix ${k}: intent "${line}" is not in the rest of the log`,
            ).to.equal(true);
          }
        }
      });

      it('warm (two batches, at every split point) and cold (one batch) replays reach the same state', async () => {
        const end = realNowAt(fx, fx.events.length);
        const cold = snapshot(await replay(s(), fx.events), end);
        const skipped: number[] = [];
        for (let k = 0; k <= fx.events.length; k++) {
          const first = fx.events.slice(0, k);
          const rest = fx.events.slice(k);
          // A worker holds an execution warm only after committing its intents: a hook it drafted with a
          // random token is recorded with that token. A split between drafting and recording is not a state
          // a worker can be in (the recorded token came from another execution).
          if (draftsOtherToken((await replay(s(), first)).intents(realNowAt(fx, k), false).ops, rest)) {
            skipped.push(k);
            continue;
          }
          const warm = snapshot(await replayInBatches(s(), [first, rest], realNowAt(fx, k)), end);
          expect(warm, `split at ${k}`).to.deep.equal(cold);
        }
        // Only the race fixtures' random token is drafted before it is recorded (splits up to its hook_created).
        const randomTokenAt = name.startsWith('race-') ? fx.events.findIndex((e) => e.type === 'hook_created') : -1;
        expect(skipped).to.deep.equal(Array.from({ length: randomTokenAt + 1 }, (_, k) => k));
      });
    });
  }

  describe('what the recorded logs pin down', () => {
    it('three-steps: Date.now() is the start clock, then the wc of each inline result; Math.random() draws from the run-seeded PRNG', async () => {
      const fx = loadFixture('three-steps');
      const out = returned(await replay(fixtureSpec(fx), fx.events));
      expect(out.t0).to.equal(fx.startedAt);
      expect(out.t0).to.equal(find(fx, 'run_started').wc);
      expect(out.t1).to.equal(find(fx, 'step_completed', 'step_1').wc);
      expect(out.t2).to.equal(find(fx, 'step_completed', 'step_3').wc);
      const rng = seededRandom(`${fx.runId}:${fx.workflowName}:${fx.startedAt}`);
      expect([out.r1, out.r2]).to.deep.equal([rng(), rng()]);
    });

    it('sleep: the clock after the sleep is the server time of wait_completed; resumeAt is the recorded one', async () => {
      const fx = loadFixture('sleep');
      const out = returned(await replay(fixtureSpec(fx), fx.events));
      expect(out.before).to.equal(fx.startedAt);
      expect(out.after).to.equal(find(fx, 'wait_completed').createdAt);
      expect(out.after).to.be.at.least(deserialize<{ resumeAt: number }>(find(fx, 'wait_created').data).resumeAt);
    });

    for (const [name, by, settler] of [
      ['race-hook-wins', 'hook', 'hook_received'],
      ['race-sleep-wins', 'sleep', 'wait_completed'],
    ] as const) {
      it(`${name}: Promise.race replays the recorded winner, with the random token read back from the log`, async () => {
        const fx = loadFixture(name);
        for (let i = 0; i < 2; i++) {
          const out = returned(await replay(fixtureSpec(fx), fx.events));
          expect(out.winner.by).to.equal(by);
          expect(out.winner.at).to.equal(find(fx, settler).createdAt);
          expect(out.token).to.equal(deserialize<{ token: string }>(find(fx, 'hook_created', 'hook_1').data).token);
        }
      });
    }

    it('race-sleep-wins: replayed with the payload recorded first instead, the hook wins (the log order decides)', async () => {
      const fx = loadFixture('race-sleep-wins');
      const evs = fx.events.slice(0, -1); // up to wait_completed, without run_completed
      const wc = evs.pop()!;
      const payload: StoredEvent = { eventId: wc.eventId, type: 'hook_received', correlationId: 'hook_1', data: serialize({ payload: { v: 'late' } }), createdAt: wc.createdAt };
      const out = returned(await replay(fixtureSpec(fx), [...evs, payload, { ...wc, eventId: `${wc.createdAt}-99` }]));
      expect(out.winner).to.deep.equal({ by: 'hook', p: { v: 'late' }, at: wc.createdAt });
    });

    it('hook-generations: hook_1 and hook_2 share the token; the payload after the lost race went to the new await', async () => {
      const fx = loadFixture('hook-generations');
      const tokens = fx.events.filter((e) => e.type === 'hook_created').map((e) => [e.correlationId, deserialize<{ token: string }>(e.data).token]);
      expect(tokens).to.deep.equal([
        ['hook_1', 'fixture:generations'],
        ['hook_2', 'fixture:generations'],
      ]);
      const i = (type: string, c: string) => fx.events.findIndex((e) => e.type === type && e.correlationId === c);
      expect(i('hook_disposed', 'hook_1')).to.be.below(i('hook_created', 'hook_2'));
      const out = returned(await replay(fixtureSpec(fx), fx.events));
      expect(out).to.deep.equal({ first: 'timeout', second: 'a', noted: 'hook_1 got a', third: 'b' });
    });

    it('parallel: Promise.all settles in the recorded completion order, results in call order', async () => {
      const fx = loadFixture('parallel');
      const completed = fx.events.filter((e) => e.type === 'step_completed').map((e) => Number(e.correlationId.slice('step_'.length)));
      const out = returned(await replay(fixtureSpec(fx), fx.events));
      expect(out.results).to.deep.equal([1, 4, 9, 16]);
      expect(out.order).to.deep.equal(completed);
    });

    it('step-retry: two step_retrying events then the third attempt; the replay settles the step once', async () => {
      const fx = loadFixture('step-retry');
      expect(fx.events.filter((e) => e.type === 'step_started').map((e) => deserialize<{ attempt: number }>(e.data).attempt)).to.deep.equal([1, 2, 3]);
      const out = returned(await replay(fixtureSpec(fx), fx.events));
      expect(out).to.deep.equal({ r: { x: 21, attempt: 3 } });
      // Cut after the first retry: nothing to commit, the step queue brings the next attempt.
      const cut = fx.events.findIndex((e) => e.type === 'step_retrying') + 1;
      const ex = await replay(fixtureSpec(fx), fx.events.slice(0, cut));
      expect(ex.intents(realNowAt(fx, cut), false).ops).to.deep.equal([]);
      expect(ex.waitsOnOutside).to.equal(true);
    });

    it('hook-suspended: the recorded run resumes under the current code (second payload, then the step and the end)', async () => {
      const fx = loadFixture('hook-suspended');
      const ex = await replay(fixtureSpec(fx), fx.events);
      const t = fx.recordedAt;
      await ex.feed([{ eventId: `${t}-0`, type: 'hook_received', correlationId: 'hook_1', data: serialize({ payload: { n: 2 } }), createdAt: t }]);
      const { ops, inline } = ex.intents(t, false);
      expect(opLines(ops)).to.deep.equal(['hook_disposed hook_1', 'step_created step_1', 'step_started step_1']);
      expect(inline.map((c) => [c.stepName, deserialize(c.input)])).to.deep.equal([[W.sum.stepName, [[40, 2]]]]);
      // The commit of those ops, then the inline step's result.
      await ex.feed([...committed(ops, t + 1), { eventId: `${t + 2}-0`, type: 'step_completed', correlationId: 'step_1', data: serialize({ result: 42 }), createdAt: t + 2, wc: t + 2 }]);
      expect(returned(ex)).to.deep.equal({ got: [40, 2], total: 42 });
      expect(opLines(ex.intents(t + 3, false).ops)).to.deep.equal(['run_completed']);
    });

    it('sleep-suspended: nothing to do before its resume time; at it, the late timer is made up for (wait_completed)', async () => {
      const fx = loadFixture('sleep-suspended');
      const resumeAt = deserialize<{ resumeAt: number }>(find(fx, 'wait_created').data).resumeAt;
      const ex = await replay(fixtureSpec(fx), fx.events);
      expect(ex.intents(resumeAt - 1, false).ops).to.deep.equal([]);
      expect(ex.intents(resumeAt, false).ops).to.deep.equal([{ t: 'wait_completed', c: 'wait_1', d: serialize({ resumeAt }) }]);
    });
  });

  describe('recorded logs against changed workflow code: NondeterminismError naming the call', () => {
    const against = (name: string, fn: (...args: any[]) => unknown): ReplaySpec => ({ ...fixtureSpec(loadFixture(name)), fn });
    const diverged = async (name: string, fn: (...args: any[]) => unknown) => {
      const ex = await replay(against(name, fn), loadFixture(name).events);
      expect(ex.divergence?.name).to.equal('NondeterminismError');
      expect(opLines(ex.intents(Date.now(), false).ops)).to.deep.equal(['run_failed']);
      return ex.divergence!.message;
    };

    it('a step dropped from the code (three-steps without its third step)', async () => {
      const msg = await diverged('three-steps', async (orderId: string) => {
        const a = await W.add(1, 2);
        return { orderId, b: await W.double(a) };
      });
      expect(msg).to.include(`Replay diverged at step_3 (step "${W.label.stepName}") (step_created): the event log has this call but the workflow code did not make it`);
      expect(msg).to.include('(the code made 2 step, 0 hook and 0 sleep calls so far)');
    });

    it('another step at the same position (three-steps calling sum where it called double)', async () => {
      const msg = await diverged('three-steps', async (orderId: string) => {
        const a = await W.add(1, 2);
        const b = await W.sum([a, a]);
        return W.label(orderId, b);
      });
      expect(msg).to.equal(
        `Replay diverged at step_2: the event log has step "${W.double.stepName}" there, but the workflow code now calls step "${W.sum.stepName}". ` +
          'Workflow code must make the same calls in the same order on every replay: to change it, define a new version ' +
          '(defineWorkflow(name, fn, { version })) or guard the change with patched(id) (README "Deploying new code").',
      );
    });

    it('a sleep where the log has a hook (race-hook-wins with the hook removed)', async () => {
      const msg = await diverged('race-hook-wins', async (ms: number) => {
        await sleep(ms);
        return 'slept';
      });
      expect(msg).to.include('Replay diverged at hook_1 (hook_created): the event log has this call but the workflow code did not make it');
      expect(msg).to.include('(the code made 0 step, 0 hook and 1 sleep calls so far)');
    });

    it('a hook with another custom token (hook-two-payloads)', async () => {
      const msg = await diverged('hook-two-payloads', async () => {
        const hook = createHook<{ n: number }>({ token: 'fixture:renamed' });
        return await hook;
      });
      expect(msg).to.equal('Replay diverged at hook_1: the workflow code now creates this hook with another custom token than the one recorded.');
    });

    it('code that changes only after the recorded end of a suspended log replays it (the log is a prefix of what it does)', async () => {
      const fx = loadFixture('hook-suspended');
      const ex = await replay(
        against('hook-suspended', async (token: string) => {
          const hook = createHook<{ n: number }>({ token });
          const first = await hook;
          return W.double(first.n);
        }),
        fx.events,
      );
      expect(ex.divergence).to.equal(undefined);
      expect(opLines(ex.intents(fx.recordedAt, false).ops)).to.deep.equal(['step_created step_1', 'step_started step_1']);
    });
  });
});
