/**
 * The replay engine without Redis or a worker: `Execution` fed plain event
 * arrays (written by hand with LogBuilder, in the store's StoredEvent form),
 * driven the way lib/worker/replay-job.ts and drive.ts drive it, and its
 * intents, divergences, clocks and PRNG asserted. Each test runs in
 * milliseconds.
 */
import { expect } from 'chai';
import { createHook, defineStep, sleep } from 'workflow-redis';
import type { CommitOp, StoredEvent } from '../../lib/redis/store-types.js';
import { seededRandom } from '../../lib/replay/determinism.js';
import type { Execution } from '../../lib/replay/execution.js';
import { serialize } from '../../lib/serialization/codec.js';
import { LogBuilder, newExecution, opLines, replay, replayInBatches, snapshot, type ReplaySpec } from './_harness.js';

const U = 'replay-unit';
// Step bodies never run here: Execution only records the calls.
const stepA = defineStep(`${U}.a`, async (n: number) => n + 1);
const stepB = defineStep(`${U}.b`, async (n: number) => n * 10);
const stepC = defineStep(`${U}.c`, async (n: number) => n * 100);
const sendToken = defineStep(`${U}.send-token`, async (_token: string) => 'sent');

const T0 = 1_700_000_000_000;
const RUN = 'wrun_unit';
const WF = `${U}.wf`;

function spec(fn: (...args: any[]) => unknown, args: unknown[] = [], extra: Partial<ReplaySpec> = {}): ReplaySpec {
  return { runId: RUN, workflowName: WF, startedAt: T0, fn, args, ...extra };
}

/** A log that starts like every run's: run_created, then run_started carrying the start clock. */
function started(at = T0): LogBuilder {
  return new LogBuilder(at - 2).runCreated(WF).runStarted(at);
}

/** The intents of a new run, as processReplayJob computes them before its first commit (begin with no log). */
async function freshIntents(s: ReplaySpec, realNow = T0) {
  const ex = newExecution(s);
  await ex.begin(s.fn, s.args, []);
  return { ex, intents: ex.intents(realNow, false) };
}

const stepInput = (args: unknown[]) => serialize(args, 'step arguments', { argumentList: true });

function expectFailedWith(ex: Execution, name: string, ...fragments: string[]): void {
  expect(ex.divergence, 'divergence').to.be.an('error');
  expect(ex.divergence!.name).to.equal(name);
  for (const f of fragments) expect(ex.divergence!.message).to.include(f);
  expect(ex.finished).to.equal(true);
  // What the worker commits: the run fails with that error.
  const { ops } = ex.intents(T0 + 60_000, false);
  expect(ops).to.have.length(1);
  const op = ops[0] as Extract<CommitOp, { t: 'run_failed' }>;
  expect(op.t).to.equal('run_failed');
  const err = JSON.parse(op.err) as { name: string; message: string };
  expect(err.name).to.equal(name);
  expect(err.message).to.equal(ex.divergence!.message);
}

describe('replay engine: Execution fed event arrays (no Redis)', () => {
  describe('intents of a fresh run', () => {
    it('one inline step: step_created (name, input, mode) and step_started, to run in this job', async () => {
      const { ex, intents } = await freshIntents(spec(async (n: number) => stepA(n), [4]));
      expect(intents.ops).to.deep.equal([
        {
          t: 'step_created',
          c: 'step_1',
          d: serialize({ stepName: `${U}.a`, input: stepInput([4]), mode: 'inline' }),
          n: `${U}.a`,
          m: 'inline',
          i: stepInput([4]),
        },
        { t: 'step_started', c: 'step_1', m: 'inline' },
      ]);
      expect(intents.inline.map((s) => [s.id, s.stepName])).to.deep.equal([['step_1', `${U}.a`]]);
      expect(intents.queued).to.deep.equal([]);
      expect(intents.timers).to.deep.equal([]);
      expect(ex.outcome.kind).to.equal('running');
      expect(ex.cursor).to.equal('');
      // Nothing outside can append yet: drive may feed the step's result ahead of its commit.
      expect(ex.waitsOnOutside).to.equal(false);
    });

    it('more new steps than inlineLimit go to the step queue (step_created mode "queue", no step_started)', async () => {
      const fn = async () => Promise.all([stepA(1), stepB(2)]);
      const { intents } = await freshIntents(spec(fn));
      expect(opLines(intents.ops)).to.deep.equal(['step_created step_1', 'step_created step_2']);
      expect(intents.ops.map((o) => (o as { m?: string }).m)).to.deep.equal(['queue', 'queue']);
      expect(intents.queued.map((s) => s.id)).to.deep.equal(['step_1', 'step_2']);
      expect(intents.inline).to.deep.equal([]);

      const wide = await freshIntents(spec(fn, [], { inlineLimit: 2 }));
      expect(opLines(wide.intents.ops)).to.deep.equal(['step_created step_1', 'step_started step_1', 'step_created step_2', 'step_started step_2']);
      expect(wide.intents.inline.map((s) => s.id)).to.deep.equal(['step_1', 'step_2']);
    });

    it('hooks are created before the steps of the same burst (a step that sends the token runs after the hook exists)', async () => {
      const fn = async () => {
        const hook = createHook<string>({ token: 'unit:approve', metadata: { who: 'ops' } });
        await sendToken(hook.token);
        return await hook;
      };
      const { intents } = await freshIntents(spec(fn));
      expect(opLines(intents.ops)).to.deep.equal(['hook_created hook_1', 'step_created step_1', 'step_started step_1']);
      expect(intents.ops[0]).to.deep.equal({
        t: 'hook_created',
        c: 'hook_1',
        d: serialize({ token: 'unit:approve', isWebhook: false }),
        tk: 'unit:approve',
        wh: false,
        md: serialize({ who: 'ops' }),
      });
    });

    it('a sleep: wait_created at its resume time and a timer; already due, wait_completed too (no timer)', async () => {
      const fn = async () => sleep(new Date(T0 + 5_000));
      const pending = await freshIntents(spec(fn), T0);
      expect(pending.intents.ops).to.deep.equal([{ t: 'wait_created', c: 'wait_1', d: serialize({ resumeAt: T0 + 5_000 }), at: T0 + 5_000 }]);
      expect(pending.intents.timers.map((w) => [w.id, w.resumeAt])).to.deep.equal([['wait_1', T0 + 5_000]]);

      const due = await freshIntents(spec(fn), T0 + 5_000);
      expect(opLines(due.intents.ops)).to.deep.equal(['wait_created wait_1', 'wait_completed wait_1']);
      expect(due.intents.timers).to.deep.equal([]);
    });

    it('a workflow that returns at once: run_completed with the serialised output', async () => {
      const { intents } = await freshIntents(spec(async (x: string) => ({ hello: x }), ['you']));
      expect(intents.ops).to.deep.equal([
        { t: 'run_completed', c: '', d: serialize({ hello: 'you' }, 'the workflow return value', { wrapKey: 'output' }), out: serialize({ hello: 'you' }) },
      ]);
    });
  });

  describe('resuming from a log', () => {
    const twoSteps = async (n: number) => {
      const a = await stepA(n);
      const b = await stepB(a);
      return { a, b };
    };

    it('the recorded result settles the step; the code runs on to its next call; the completed log has nothing left to do', async () => {
      const log = started().step('step_1', `${U}.a`, [1], 2);
      const ex = await replay(spec(twoSteps, [1]), log.events);
      expect(ex.cursor).to.equal(log.events[log.events.length - 1]!.eventId);
      expect(ex.consumed).to.equal(log.events.length);
      expect(opLines(ex.intents(T0, false).ops)).to.deep.equal(['step_created step_2', 'step_started step_2']);

      log.step('step_2', `${U}.b`, [2], 20);
      const ex2 = await replay(spec(twoSteps, [1]), log.events);
      expect(ex2.outcome).to.deep.equal({ kind: 'returned', value: { a: 2, b: 20 } });
      const [done] = ex2.intents(T0, false).ops;
      expect(done).to.include({ t: 'run_completed', out: serialize({ a: 2, b: 20 }) });

      log.runCompleted({ a: 2, b: 20 });
      const ex3 = await replay(spec(twoSteps, [1]), log.events);
      expect(ex3.terminal).to.equal(true);
      expect(ex3.intents(T0, false)).to.deep.equal({ ops: [], inline: [], queued: [], timers: [] });
    });

    it('a step whose start is recorded but whose job died is re-run only when recovering', async () => {
      const log = started().stepCreated('step_1', `${U}.a`, [1]).stepStarted('step_1');
      const ex = await replay(spec(twoSteps, [1]), log.events);
      expect(ex.intents(T0, false).ops).to.deep.equal([]);
      const again = ex.intents(T0, true);
      expect(again.ops).to.deep.equal([{ t: 'step_started', c: 'step_1', m: 'inline' }]);
      expect(again.inline.map((s) => s.id)).to.deep.equal(['step_1']);
    });

    it('a retried step waits for its next attempt (nothing to commit) and counts as waiting on the outside', async () => {
      const log = started().stepCreated('step_1', `${U}.a`, [1]).stepStarted('step_1').stepRetrying('step_1', 'boom', T0 + 1_000);
      const ex = await replay(spec(twoSteps, [1]), log.events);
      expect(ex.intents(T0, false).ops).to.deep.equal([]);
      expect(ex.waitsOnOutside).to.equal(true);
      log.stepStarted('step_1', 2).stepCompleted('step_1', 2);
      const ex2 = await replay(spec(twoSteps, [1]), log.events);
      expect(opLines(ex2.intents(T0, false).ops)).to.deep.equal(['step_created step_2', 'step_started step_2']);
    });

    it('a failed step rejects with FatalError carrying the recorded message', async () => {
      const fn = async () => {
        try {
          await stepA(1);
          return 'no';
        } catch (err) {
          return `${(err as Error).name}: ${(err as Error).message}`;
        }
      };
      const log = started().stepCreated('step_1', `${U}.a`, [1]).stepStarted('step_1').stepFailed('step_1', 'card declined');
      const ex = await replay(spec(fn), log.events);
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: 'FatalError: card declined' });
    });
  });

  describe('divergence (NondeterminismError naming the call)', () => {
    const log = () => started().step('step_1', `${U}.a`, [1], 2).step('step_2', `${U}.b`, [2], 20).runCompleted(20);

    it('the log has a step the code no longer calls', async () => {
      const fewer = async (n: number) => stepA(n);
      const ex = await replay(spec(fewer, [1]), log().events);
      expectFailedWith(
        ex,
        'NondeterminismError',
        `Replay diverged at step_2 (step "${U}.b") (step_created): the event log has this call but the workflow code did not make it`,
        '(the code made 1 step, 0 hook and 0 sleep calls so far)',
        "define a new version (defineWorkflow(name, fn, { version })) or guard the change with patched(id)",
      );
      // Feeding stops at the diverging event (the terminal event after it is not consumed).
      expect(ex.cursor).to.equal(log().events[5]!.eventId);
      expect(ex.terminal).to.equal(false);
    });

    it('the code calls another step at the same position', async () => {
      const renamed = async (n: number) => stepC(await stepA(n));
      const ex = await replay(spec(renamed, [1]), log().events);
      expectFailedWith(
        ex,
        'NondeterminismError',
        `Replay diverged at step_2: the event log has step "${U}.b" there, but the workflow code now calls step "${U}.c".`,
      );
    });

    it('the code sleeps where the log has a step (the call the code lacks is named)', async () => {
      const slept = async (n: number) => {
        await stepA(n);
        await sleep(new Date(T0 + 1));
        return 0;
      };
      const ex = await replay(spec(slept, [1]), log().events);
      expectFailedWith(ex, 'NondeterminismError', `Replay diverged at step_2 (step "${U}.b")`, '(the code made 1 step, 0 hook and 1 sleep calls so far)');
    });

    it('a hook created with another custom token than the one recorded', async () => {
      const events = started().hookCreated('hook_1', 'unit:old').hookReceived('hook_1', 'x').events;
      const fn = async () => await createHook<string>({ token: 'unit:new' });
      const ex = await replay(spec(fn), events);
      expectFailedWith(ex, 'NondeterminismError', 'Replay diverged at hook_1: the workflow code now creates this hook with another custom token than the one recorded.');
    });

    it('a log event of the wrong kind for its call', async () => {
      const events = started().add('hook_received', 'step_1', { payload: 1 }).events;
      const ex = await replay(spec(async () => stepA(1)), events);
      expectFailedWith(ex, 'NondeterminismError', 'event hook_received cannot belong to step call step_1');
    });

    it('a log shorter than the code is not a divergence: the rest are new intents', async () => {
      const longer = async (n: number) => stepC(await stepB(await stepA(n)));
      const ex = await replay(spec(longer, [1]), log().events.slice(0, -1));
      expect(ex.divergence).to.equal(undefined);
      expect(opLines(ex.intents(T0, false).ops)).to.deep.equal(['step_created step_3', 'step_started step_3']);
    });
  });

  describe('Promise.race and Promise.all settle in log order', () => {
    const raceHookSleep = async () => {
      const hook = createHook<string>({ token: 'unit:race' });
      const order: string[] = [];
      const h = hook.then((p) => (order.push(`hook:${p}`), `hook:${p}`));
      const s = sleep(new Date(T0 + 1_000)).then(() => (order.push('sleep'), 'sleep'));
      const winner = await Promise.race([h, s]);
      const afterRace = [...order];
      await Promise.all([h, s]);
      return { winner, afterRace, order };
    };
    const base = () => started().hookCreated('hook_1', 'unit:race').waitCreated('wait_1', T0 + 1_000);

    it('the hook payload recorded before the sleep completion wins, on every replay', async () => {
      const events = base().hookReceived('hook_1', 'p', { at: T0 + 500 }).waitCompleted('wait_1', T0 + 1_000, { at: T0 + 1_001 }).events;
      for (let i = 0; i < 2; i++) {
        const ex = await replay(spec(raceHookSleep), events);
        expect(ex.outcome).to.deep.equal({ kind: 'returned', value: { winner: 'hook:p', afterRace: ['hook:p'], order: ['hook:p', 'sleep'] } });
      }
    });

    it('the sleep completion recorded before the payload wins, on every replay', async () => {
      const events = base().waitCompleted('wait_1', T0 + 1_000, { at: T0 + 1_001 }).hookReceived('hook_1', 'p', { at: T0 + 1_002 }).events;
      for (let i = 0; i < 2; i++) {
        const ex = await replay(spec(raceHookSleep), events);
        expect(ex.outcome).to.deep.equal({ kind: 'returned', value: { winner: 'sleep', afterRace: ['sleep'], order: ['sleep', 'hook:p'] } });
      }
    });

    it('a race decided by the sleep returns without waiting for the hook (nothing else to commit)', async () => {
      const fn = async () => {
        const hook = createHook<string>({ token: 'unit:race' });
        return Promise.race([hook, sleep(new Date(T0 + 1_000)).then(() => 'timeout')]);
      };
      const events = base().waitCompleted('wait_1', T0 + 1_000, { at: T0 + 1_001 }).events;
      const ex = await replay(spec(fn), events);
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: 'timeout' });
      expect(opLines(ex.intents(T0 + 2_000, false).ops)).to.deep.equal(['run_completed']);
    });

    it('Promise.all of queued steps: settlement order is completion order in the log, results in call order', async () => {
      const fn = async () => {
        const order: string[] = [];
        const results = await Promise.all([stepA(1).then((v) => (order.push('a'), v)), stepB(2).then((v) => (order.push('b'), v))]);
        const first = await Promise.race([stepA(3), stepC(4)]);
        return { results, order, first };
      };
      const head = () =>
        started()
          .stepCreated('step_1', `${U}.a`, [1], 'queue')
          .stepCreated('step_2', `${U}.b`, [2], 'queue')
          .stepStarted('step_1')
          .stepStarted('step_2');
      const tail = (b: LogBuilder, first: 'step_3' | 'step_4') =>
        b
          .stepCreated('step_3', `${U}.a`, [3], 'queue')
          .stepCreated('step_4', `${U}.c`, [4], 'queue')
          .stepCompleted(first, first === 'step_3' ? 4 : 400)
          .stepCompleted(first === 'step_3' ? 'step_4' : 'step_3', first === 'step_3' ? 400 : 4);

      const bFirst = await replay(spec(fn), tail(head().stepCompleted('step_2', 20).stepCompleted('step_1', 2), 'step_4').events);
      expect(bFirst.outcome).to.deep.equal({ kind: 'returned', value: { results: [2, 20], order: ['b', 'a'], first: 400 } });
      const aFirst = await replay(spec(fn), tail(head().stepCompleted('step_1', 2).stepCompleted('step_2', 20), 'step_3').events);
      expect(aFirst.outcome).to.deep.equal({ kind: 'returned', value: { results: [2, 20], order: ['a', 'b'], first: 4 } });
    });
  });

  describe('hooks: numbering, claims and generations', () => {
    it('hooks are numbered by call order, whatever their token: a disposed hook_1 and a new hook_2 with the same token', async () => {
      const fn = async () => {
        const h1 = createHook<string>({ token: 'unit:gen' });
        const a = await h1;
        h1.dispose();
        const noted = await stepA(1);
        const h2 = createHook<string>({ token: 'unit:gen' });
        const b = await h2;
        return { a, noted, b, same: h1.token === h2.token };
      };
      const log = started().hookCreated('hook_1', 'unit:gen').hookReceived('hook_1', 'one');
      const ex1 = await replay(spec(fn), log.events);
      // The disposal is recorded at the next suspension, with the step; hook_2 does not exist yet.
      expect(opLines(ex1.intents(T0, false).ops)).to.deep.equal(['hook_disposed hook_1', 'step_created step_1', 'step_started step_1']);

      log.hookDisposed('hook_1').step('step_1', `${U}.a`, [1], 2);
      const ex2 = await replay(spec(fn), log.events);
      const [created] = ex2.intents(T0, false).ops;
      expect(created).to.include({ t: 'hook_created', c: 'hook_2', tk: 'unit:gen' });

      // A payload for the token now belongs to hook_2.
      log.hookCreated('hook_2', 'unit:gen').hookReceived('hook_2', 'two');
      const ex3 = await replay(spec(fn), log.events);
      expect(ex3.outcome).to.deep.equal({ kind: 'returned', value: { a: 'one', noted: 2, b: 'two', same: true } });
    });

    it('a random token is drawn once and then read back from the log on every replay', async () => {
      const fn = async () => {
        const hook = createHook<string>();
        return { token: hook.token, p: await hook };
      };
      const { intents } = await freshIntents(spec(fn));
      const token = (intents.ops[0] as { tk: string }).tk;
      expect(token).to.match(/^[A-Za-z0-9_-]{21}$/);
      const events = started().hookCreated('hook_1', token).hookReceived('hook_1', 'x').events;
      for (let i = 0; i < 2; i++) {
        const ex = await replay(spec(fn), events);
        expect(ex.outcome).to.deep.equal({ kind: 'returned', value: { token, p: 'x' } });
      }
    });

    it('the claim left by a lost race is older: the next await of the same hook gets the payload', async () => {
      const fn = async () => {
        const hook = createHook<string>({ token: 'unit:stale' });
        const stale: string[] = [];
        const first = await Promise.race([hook.then((p) => (stale.push(p), p)), sleep(new Date(T0 + 100)).then(() => 'timeout')]);
        const second = await hook;
        const third = await hook;
        return { first, second, third, stale: [...stale] };
      };
      const events = started()
        .hookCreated('hook_1', 'unit:stale')
        .waitCreated('wait_1', T0 + 100)
        .waitCompleted('wait_1', T0 + 100, { at: T0 + 101 })
        .hookReceived('hook_1', 'a')
        .hookReceived('hook_1', 'b').events;
      const ex = await replay(spec(fn), events);
      // Each payload goes to the newest claim ('a' to `second`, 'b' to `third`), never to the one the race left behind.
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: { first: 'timeout', second: 'a', third: 'b', stale: [] } });
    });

    it('claims of one burst are served FIFO; payloads recorded before the code awaits are buffered in order', async () => {
      const pair = async () => {
        const hook = createHook<string>({ token: 'unit:pair' });
        return Promise.all([hook, hook]);
      };
      const events = started().hookCreated('hook_1', 'unit:pair').hookReceived('hook_1', 'x').hookReceived('hook_1', 'y').events;
      expect((await replay(spec(pair), events)).outcome).to.deep.equal({ kind: 'returned', value: ['x', 'y'] });

      const buffered = async () => {
        const hook = createHook<string>({ token: 'unit:buf' });
        const s = await stepA(1);
        return [s, await hook, await hook];
      };
      const log = started()
        .hookCreated('hook_1', 'unit:buf')
        .stepCreated('step_1', `${U}.a`, [1])
        .stepStarted('step_1')
        .hookReceived('hook_1', 'early-1')
        .hookReceived('hook_1', 'early-2')
        .stepCompleted('step_1', 2);
      expect((await replay(spec(buffered), log.events)).outcome).to.deep.equal({ kind: 'returned', value: [2, 'early-1', 'early-2'] });
    });
  });

  describe('clocks and randomness', () => {
    /** Every Date.now() / new Date() the code sees, in order. */
    const clocky = async (seen: number[]) => {
      seen.push(Date.now(), new Date().getTime());
      await stepA(1);
      seen.push(Date.now());
      await sleep(new Date(T0 + 1_000));
      seen.push(Date.now());
      const hook = createHook<string>({ token: 'unit:clock' });
      await hook;
      seen.push(Date.now(), new Date().getTime());
      await stepB(2);
      seen.push(Date.now());
      return 'ok';
    };
    const log = () =>
      new LogBuilder(T0 - 3)
        .runCreated(WF)
        .runStarted(T0) // server time T0-1, worker clock T0: the start clock is wc
        .stepCreated('step_1', `${U}.a`, [1])
        .stepStarted('step_1')
        .stepCompleted('step_1', 2, { at: T0 + 40, wc: T0 + 30 }) // an inline result: its wc, not createdAt
        .waitCreated('wait_1', T0 + 1_000)
        .waitCompleted('wait_1', T0 + 1_000, { at: T0 + 1_007 }) // no wc: the server time
        .hookCreated('hook_1', 'unit:clock')
        .hookReceived('hook_1', 'go', { at: T0 + 5_000 })
        .stepCreated('step_2', `${U}.b`, [2], 'queue')
        .stepStarted('step_2') // T0+5002, later than the result's wc below
        .stepCompleted('step_2', 20, { wc: T0 + 4_000 }); // an older wc never moves the clock back

    it('Date.now() and new Date() read the start clock, then each consumed event’s wc or createdAt, never going back', async () => {
      const seen: number[] = [];
      const events = log().events;
      const ex = await replay(spec(clocky, [seen]), events);
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: 'ok' });
      expect(seen).to.deep.equal([T0, T0, T0 + 30, T0 + 1_007, T0 + 5_000, T0 + 5_000, events[events.length - 2]!.createdAt]);
      expect(ex.now()).to.equal(T0 + 5_002);
      // Outside workflow code the clock is the real one.
      expect(Math.abs(Date.now() - new Date().getTime())).to.be.below(1_000);
      expect(Date.now()).to.not.equal(ex.now());
    });

    it('a replay in any batches sees the same clock values', async () => {
      const events = log().events;
      const one: number[] = [];
      await replay(spec(clocky, [one]), events);
      for (let k = 1; k < events.length; k++) {
        const two: number[] = [];
        await replayInBatches(spec(clocky, [two]), [events.slice(0, k), events.slice(k)], T0);
        expect(two, `split at ${k}`).to.deep.equal(one);
      }
    });

    it('Math.random() is a PRNG seeded by run id, workflow name and start: the same values on every replay', async () => {
      const fn = async () => {
        const before = [Math.random(), Math.random()];
        await stepA(1);
        const after = Math.random();
        return [...before, after];
      };
      const events = started().step('step_1', `${U}.a`, [1], 2).events;
      const a = await replay(spec(fn), events);
      const b = await replay(spec(fn), events);
      const warm = await replayInBatches(spec(fn), [events.slice(0, 2), events.slice(2)], T0);
      expect(a.outcome.kind).to.equal('returned');
      const values = (a.outcome as { value: number[] }).value;
      expect((b.outcome as { value: number[] }).value).to.deep.equal(values);
      expect((warm.outcome as { value: number[] }).value).to.deep.equal(values);
      // The seed is part of the log format's contract: in-flight runs replay with it.
      const rng = seededRandom(`${RUN}:${WF}:${T0}`);
      expect(values).to.deep.equal([rng(), rng(), rng()]);
      for (const v of values) expect(v).to.be.within(0, 1);
      // Another run draws other values.
      const other = await replay(spec(fn, [], { runId: 'wrun_other' }), events);
      expect((other.outcome as { value: number[] }).value).to.not.deep.equal(values);
    });
  });

  describe('warm and cold replays are equivalent', () => {
    /** Steps, a custom-token hook racing a sleep, queued parallel steps, a second payload, clock and PRNG. */
    const sink = async (token: string) => {
      const a = await stepA(1);
      const hook = createHook<string>({ token });
      const r = await Promise.race([hook.then((p) => `hook:${p}`), sleep(new Date(T0 + 5_000)).then(() => 'sleep')]);
      const [x, y] = await Promise.all([stepB(2), stepC(3)]);
      const p2 = await hook;
      hook.dispose();
      return { a, r, x, y, p2, now: Date.now(), rnd: Math.random() };
    };
    const events = (withEnd: boolean): StoredEvent[] => {
      const b = started()
        .step('step_1', `${U}.a`, [1], 2)
        .hookCreated('hook_1', 'unit:sink')
        .waitCreated('wait_1', T0 + 5_000)
        .hookReceived('hook_1', 'p', { at: T0 + 100 })
        .stepCreated('step_2', `${U}.b`, [2], 'queue')
        .stepCreated('step_3', `${U}.c`, [3], 'queue')
        .stepStarted('step_2')
        .stepStarted('step_3')
        .stepCompleted('step_3', 300)
        .stepCompleted('step_2', 20)
        .hookReceived('hook_1', 'q', { at: T0 + 200 });
      if (withEnd) b.runCompleted({});
      return b.events;
    };

    for (const withEnd of [false, true]) {
      it(`two batches at every split point reach the state of one batch (${withEnd ? 'completed' : 'returned, not yet committed'} log)`, async () => {
        const evs = events(withEnd);
        const s = spec(sink, ['unit:sink']);
        const cold = snapshot(await replay(s, evs), T0 + 300);
        expect(cold.divergence).to.equal(undefined);
        expect(cold.outcome).to.deep.include({ kind: 'returned' });
        for (let k = 0; k <= evs.length; k++) {
          const warm = snapshot(await replayInBatches(s, [evs.slice(0, k), evs.slice(k)], T0 + 300), T0 + 300);
          expect(warm, `split at ${k}`).to.deep.equal(cold);
        }
        // Three batches, and a batch fed again after more (already consumed events are skipped).
        const third = Math.floor(evs.length / 3);
        expect(snapshot(await replayInBatches(s, [evs.slice(0, third), evs.slice(third, 2 * third), evs.slice(2 * third)], T0 + 300), T0 + 300)).to.deep.equal(cold);
        expect(snapshot(await replayInBatches(s, [evs.slice(0, 2 * third), evs.slice(0, third), evs], T0 + 300), T0 + 300)).to.deep.equal(cold);
      });
    }

    it('inline step results fed ahead of their commit (feedAhead, then confirm) reach the state of a replay of the committed log', async () => {
      const twoSteps = async (n: number) => {
        const a = await stepA(n);
        const b = await stepB(a);
        return { a, b, at: Date.now() };
      };
      const s = spec(twoSteps, [1]);
      // As drive.ts does for a new run in its commit window: run step_1, feed its ops and result ahead, then step_2.
      const ex = newExecution(s);
      await ex.begin(s.fn, s.args, []);
      const wc1 = T0 + 10;
      const wc2 = T0 + 20;
      const ahead1 = ex.intents(T0, false);
      expect(opLines(ahead1.ops)).to.deep.equal(['step_created step_1', 'step_started step_1']);
      await ex.feedAhead([...ahead1.ops.map((op) => aheadEvent(op, wc1)), aheadEvent({ t: 'step_completed', c: 'step_1', d: serialize({ result: 2 }) }, wc1 + 1)]);
      expect(ex.cursor).to.equal('');
      const ahead2 = ex.intents(T0, false);
      expect(opLines(ahead2.ops)).to.deep.equal(['step_created step_2', 'step_started step_2']);
      await ex.feedAhead([...ahead2.ops.map((op) => aheadEvent(op, wc2)), aheadEvent({ t: 'step_completed', c: 'step_2', d: serialize({ result: 20 }) }, wc2 + 1)]);
      expect(ex.outcome).to.deep.equal({ kind: 'returned', value: { a: 2, b: 20, at: wc2 + 1 } });

      // The commit that recorded them all (with the start): the same events, with stream ids.
      const committed = new LogBuilder(T0 - 2)
        .runCreated(WF)
        .runStarted(T0)
        .add('step_created', 'step_1', { stepName: `${U}.a`, input: stepInput([1]), mode: 'inline' }, { wc: wc1 })
        .add('step_started', 'step_1', { attempt: 1 }, { wc: wc1 })
        .stepCompleted('step_1', 2, { wc: wc1 + 1 })
        .add('step_created', 'step_2', { stepName: `${U}.b`, input: stepInput([2]), mode: 'inline' }, { wc: wc2 })
        .add('step_started', 'step_2', { attempt: 1 }, { wc: wc2 })
        .stepCompleted('step_2', 20, { wc: wc2 + 1 }).events;
      ex.confirm(committed[committed.length - 1]!.eventId);
      const cold = await replay(s, committed);
      const { consumed: _a, ...aheadState } = snapshot(ex, T0);
      const { consumed: _b, ...coldState } = snapshot(cold, T0);
      expect(aheadState).to.deep.equal(coldState);
      // Feeding the committed log to the confirmed execution consumes nothing twice.
      const consumed = ex.consumed;
      await ex.feed(committed);
      expect(ex.consumed).to.equal(consumed);
    });
  });
});

/** The event an op fed ahead of its commit stands for (as drive.ts builds it: no stream id yet). */
function aheadEvent(op: CommitOp, wc: number): StoredEvent {
  const ev: StoredEvent = { eventId: '', type: op.t, correlationId: op.c, data: '', createdAt: wc, wc };
  if (op.t === 'step_created') {
    ev.data = op.d;
    ev.parsed = { stepName: op.n, mode: op.m };
  } else if (op.t === 'step_started') {
    ev.data = '{"json":{"attempt":1}}';
    ev.parsed = { attempt: 1 };
  } else ev.data = (op as { d: string }).d;
  return ev;
}
