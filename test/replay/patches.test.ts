/**
 * patched(id) and deprecatePatch(id) in the replay engine, without Redis:
 * Execution fed plain event arrays (LogBuilder), driven like the worker
 * drives it ({@link advance}: commit the intents, run the inline steps,
 * feed the events back), then replayed cold from the log it made.
 */
import { expect } from 'chai';
import { createHook, defineStep, deprecatePatch, patched } from 'workflow-redis';
import { InvalidArgumentError, NondeterminismError, WorkflowError } from '../../lib/errors/errors.js';
import type { CommitOp, StoredEvent } from '../../lib/redis/store-types.js';
import type { Execution } from '../../lib/replay/execution.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { LogBuilder, newExecution, opLines, replay, replayInBatches, snapshot, type ReplaySpec } from './_harness.js';

const U = 'replay-patch';
// Step bodies never run here: advance() supplies the results (see RESULTS).
const prep = defineStep(`${U}.prep`, async (n: number) => n);
const oldWay = defineStep(`${U}.old`, async (n: number) => `old:${n}`);
const newWay = defineStep(`${U}.new`, async (n: number) => `new:${n}`);
const finish = defineStep(`${U}.finish`, async (s: string) => `done:${s}`);

/** What each step "returns" when advance() runs it. */
const RESULTS: Record<string, (...args: any[]) => unknown> = {
  [`${U}.prep`]: (n: number) => n + 1,
  [`${U}.old`]: (n: number) => `old:${n}`,
  [`${U}.new`]: (n: number) => `new:${n}`,
  [`${U}.finish`]: (s: string) => `done:${s}`,
};

const T0 = 1_700_000_000_000;
const NOW = T0 + 60_000;
const TOKEN = 'patch-unit:approve';

// The same workflow at four stages of a patch's life. The patch point is right after prep.
/** Before the patch. */
const OLD = async (n: number) => {
  const a = await prep(n);
  const b = await oldWay(a);
  const p = await createHook<string>({ token: TOKEN });
  return { b, p };
};
/** With the patch: both branches. */
const PATCHED = async (n: number) => {
  const a = await prep(n);
  const b = patched('x') ? await newWay(a) : await oldWay(a);
  const p = await createHook<string>({ token: TOKEN });
  return { b, p };
};
/** Clean-up, step 1: only the new branch, deprecatePatch where patched was. */
const DEPRECATED = async (n: number) => {
  const a = await prep(n);
  deprecatePatch('x');
  const b = await newWay(a);
  const p = await createHook<string>({ token: TOKEN });
  return { b, p };
};
/** Clean-up, step 2: the call is gone. */
const FINAL = async (n: number) => {
  const a = await prep(n);
  const b = await newWay(a);
  const p = await createHook<string>({ token: TOKEN });
  return { b, p };
};

function spec(fn: (...args: any[]) => unknown, args: unknown[] = [1]): ReplaySpec {
  return { runId: 'wrun_patch', workflowName: `${U}.wf`, startedAt: T0, fn, args };
}

function started(): LogBuilder {
  return new LogBuilder(T0 - 2).runCreated(`${U}.wf`).runStarted(T0);
}

/**
 * Drives `ex` like the worker until it waits on the outside or finishes:
 * each round's intents become events of `log` (as commitRun.lua appends
 * them), inline steps complete with their RESULTS, and the new events are
 * fed back. Returns every op committed, in order.
 */
async function advance(ex: Execution, log: LogBuilder): Promise<CommitOp[]> {
  const committed: CommitOp[] = [];
  for (let round = 0; round < 20 && !ex.terminal; round++) {
    const intents = ex.intents(NOW, false);
    if (intents.ops.length === 0) break;
    committed.push(...intents.ops);
    const from = log.events.length;
    for (const op of intents.ops) log.op(op);
    for (const s of intents.inline) log.stepCompleted(s.id, RESULTS[s.stepName]!(...deserialize<unknown[]>(s.input!)));
    await ex.feed(log.events.slice(from));
  }
  return committed;
}

/** A new run of `fn`, driven until it waits on the hook (or ends): its log and what it committed. */
async function newRun(fn: (...args: any[]) => unknown): Promise<{ ex: Execution; log: LogBuilder; ops: CommitOp[] }> {
  const log = started();
  const ex = newExecution(spec(fn));
  await ex.begin(fn, [1], []);
  await ex.feed(log.events);
  const ops = await advance(ex, log);
  return { ex, log, ops };
}

/** Replays `events` cold with `fn`, then resumes the hook and drives the run to its end. */
async function resumeCold(fn: (...args: any[]) => unknown, events: StoredEvent[], payload = 'ok') {
  const log = started();
  log.events.splice(0, log.events.length, ...events);
  log.at = events[events.length - 1]!.createdAt;
  const ex = await replay(spec(fn), log.events);
  expect(ex.divergence?.message, 'no divergence before the hook').to.equal(undefined);
  const before = ex.intents(NOW, false).ops;
  const from = log.events.length;
  log.hookReceived('hook_1', payload);
  await ex.feed(log.events.slice(from));
  const ops = await advance(ex, log);
  return { ex, log, before, ops };
}

const marker = (patchId: string, deprecated = false): CommitOp => ({ t: 'patch_applied', c: `patch:${patchId}`, d: serialize({ patchId, deprecated }) });

function expectDivergence(ex: Execution, ...fragments: string[]): void {
  expect(ex.divergence, 'divergence').to.be.instanceOf(NondeterminismError);
  for (const f of fragments) expect(ex.divergence!.message).to.include(f);
  const { ops } = ex.intents(NOW, false);
  expect(opLines(ops)).to.deep.equal(['run_failed']);
  expect(JSON.parse((ops[0] as Extract<CommitOp, { t: 'run_failed' }>).err).name).to.equal('NondeterminismError');
}

const returned = (ex: Execution) => {
  expect(ex.outcome.kind, `outcome (divergence: ${ex.divergence?.message})`).to.equal('returned');
  return (ex.outcome as { value: unknown }).value;
};

describe('replay engine: patched() and deprecatePatch() (no Redis)', () => {
  describe('the decision', () => {
    it('at the tip (a new run): true, and the marker is committed first in the round, before the calls of the new branch', async () => {
      const { ex, ops } = await newRun(PATCHED);
      expect(opLines(ops)).to.deep.equal([
        'step_created step_1',
        'step_started step_1',
        'patch_applied patch:x',
        'step_created step_2',
        'step_started step_2',
        'hook_created hook_1',
      ]);
      expect(ops[2]).to.deep.equal(marker('x'));
      expect((ops[3] as Extract<CommitOp, { t: 'step_created' }>).n).to.equal(`${U}.new`);
      expect(ex.divergence).to.equal(undefined);
      expect(ex.outcome.kind).to.equal('running');
    });

    it('a history that passed the point under the old code: false, the old branch, nothing recorded', async () => {
      const old = await newRun(OLD);
      const r = await resumeCold(PATCHED, old.log.events, 'yes');
      expect(r.before, 'suspended on the hook: nothing to commit').to.deep.equal([]);
      expect(opLines(r.ops)).to.deep.equal(['run_completed']);
      expect(returned(r.ex)).to.deep.equal({ b: 'old:2', p: 'yes' });
      expect(r.log.events.filter((e) => e.type === 'patch_applied')).to.deep.equal([]);
    });

    it('a history with the marker: true on every replay, cold or warm at any split, and no second marker', async () => {
      const fresh = await newRun(PATCHED);
      const events = fresh.log.events;
      const cold = await replay(spec(PATCHED), events);
      expect(cold.divergence).to.equal(undefined);
      expect(snapshot(cold, NOW).ops).to.deep.equal([]);
      for (let i = 1; i < events.length; i++) {
        const warm = await replayInBatches(spec(PATCHED), [events.slice(0, i), events.slice(i)], NOW);
        expect(snapshot(warm, NOW), `split at ${i}`).to.deep.equal(snapshot(cold, NOW));
      }
      const r = await resumeCold(PATCHED, events, 'yes');
      expect(returned(r.ex)).to.deep.equal({ b: 'new:2', p: 'yes' });
      expect(r.log.events.filter((e) => e.type === 'patch_applied')).to.have.length(1);
    });

    it('idempotent: a second patched("x") in the run gives the same answer and records nothing more', async () => {
      const twice = async (n: number) => {
        const first = patched('x');
        const a = await prep(n);
        const again = patched('x');
        const p = await createHook<string>({ token: TOKEN });
        return { first, again, a, p, third: patched('x') };
      };
      const fresh = await newRun(twice);
      expect(opLines(fresh.ops).filter((l) => l.startsWith('patch_'))).to.deep.equal(['patch_applied patch:x']);
      expect(opLines(fresh.ops)[0], 'decided before the first call: recorded before it').to.equal('patch_applied patch:x');
      const r = await resumeCold(twice, fresh.log.events);
      expect(returned(r.ex)).to.include({ first: true, again: true, third: true });
      expect(opLines(r.ops)).to.deep.equal(['run_completed']);

      // On a history from before the patch, every call says false.
      const noPatch = async (n: number) => {
        const a = await prep(n);
        const p = await createHook<string>({ token: TOKEN });
        return { a, p };
      };
      const old = await newRun(noPatch);
      const o = await resumeCold(twice, old.log.events);
      expect(returned(o.ex)).to.include({ first: false, again: false, third: false });
      expect(opLines(o.ops)).to.deep.equal(['run_completed']);
    });

    it("events others append after the cursor (a hook payload) do not decide: at the tip of the code's own history it is true", async () => {
      // prep ran on the step queue; its result and a hook payload came in before the replay that reaches patched().
      const fn = async (n: number) => {
        const h = createHook<string>({ token: TOKEN });
        const a = await prep(n);
        const b = patched('x') ? await newWay(a) : await oldWay(a);
        return { b, p: await h };
      };
      const log = started()
        .hookCreated('hook_1', TOKEN)
        .stepCreated('step_1', `${U}.prep`, [1], 'queue')
        .stepStarted('step_1')
        .stepCompleted('step_1', 2)
        .hookReceived('hook_1', 'early');
      const ex = await replay(spec(fn), log.events);
      const ops = await advance(ex, log);
      expect(opLines(ops)).to.deep.equal(['patch_applied patch:x', 'step_created step_2', 'step_started step_2', 'run_completed']);
      expect(returned(ex)).to.deep.equal({ b: 'new:2', p: 'early' });
      // The marker came after the payload; a cold replay still finds it at the point of the decision.
      const cold = await replay(spec(fn), log.events);
      expect(returned(cold)).to.deep.equal({ b: 'new:2', p: 'early' });
    });

    it("a run that ends right after patched(): the marker goes before run_completed; a completed pre-patch history replays false", async () => {
      const fn = async () => (patched('x') ? 'new' : 'old');
      const fresh = await newRun(fn);
      expect(fresh.ops.map((o) => o.t)).to.deep.equal(['patch_applied', 'run_completed']);
      expect(returned(await replay(spec(fn), fresh.log.events))).to.equal('new');
      // The log of the code before the patch: the run's end is past the point.
      const old = started().runCompleted('old');
      expect(returned(await replay(spec(fn), old.events))).to.equal('old');
    });

    it('two patches decided in one burst: both markers in one commit, and the calls may swap places on replay', async () => {
      const ab = async (n: number) => {
        const a = patched('a');
        const b = patched('b');
        return { a, b, p: await prep(n) };
      };
      const ba = async (n: number) => {
        const b = patched('b');
        const a = patched('a');
        return { a, b, p: await prep(n) };
      };
      const fresh = await newRun(ab);
      expect(opLines(fresh.ops).slice(0, 2)).to.deep.equal(['patch_applied patch:a', 'patch_applied patch:b']);
      expect(returned(await replay(spec(ba), fresh.log.events))).to.deep.equal({ a: true, b: true, p: 2 });
    });

    it('Promise.all: the decision in one branch is false when the history has calls of the other branch the code has not made yet', async () => {
      const fn = async (n: number) => {
        const [b, f] = await Promise.all([
          (async () => {
            const a = await prep(n);
            return patched('x') ? newWay(a) : oldWay(a);
          })(),
          (async () => finish(await createHook<string>({ token: TOKEN })))(),
        ]);
        return { b, f };
      };
      // Old code: prep and the hook, prep's result, then the old step; the payload, then finish.
      const log = started()
        .hookCreated('hook_1', TOKEN)
        .stepCreated('step_1', `${U}.prep`, [1], 'queue')
        .stepStarted('step_1')
        .stepCompleted('step_1', 2)
        .stepCreated('step_2', `${U}.old`, [2])
        .stepStarted('step_2')
        .stepCompleted('step_2', 'old:2')
        .hookReceived('hook_1', 'p')
        .stepCreated('step_3', `${U}.finish`, ['p'])
        .stepStarted('step_3')
        .stepCompleted('step_3', 'done:p');
      const ex = await replay(spec(fn), log.events);
      expect(returned(ex)).to.deep.equal({ b: 'old:2', f: 'done:p' });
      expect(snapshot(ex, NOW).ops).to.have.length(1); // run_completed only
    });
  });

  describe('deprecatePatch()', () => {
    it('at the tip: records the marker (deprecated), which code with patched("x") reads as true', async () => {
      const fresh = await newRun(DEPRECATED);
      expect(fresh.ops.filter((o) => o.t === 'patch_applied')).to.deep.equal([marker('x', true)]);
      const r = await resumeCold(PATCHED, fresh.log.events, 'y');
      expect(returned(r.ex)).to.deep.equal({ b: 'new:2', p: 'y' });
    });

    it('replays a history with the marker patched("x") recorded, and records nothing', async () => {
      const fresh = await newRun(PATCHED);
      const r = await resumeCold(DEPRECATED, fresh.log.events, 'y');
      expect(r.before).to.deep.equal([]);
      expect(opLines(r.ops)).to.deep.equal(['run_completed']);
      expect(returned(r.ex)).to.deep.equal({ b: 'new:2', p: 'y' });
    });

    it('raises nothing on a history without the marker; if that history then diverges, the error says deprecatePatch met it', async () => {
      // A pre-patch history whose calls the patched branch also makes: replays.
      const same = async (n: number) => {
        const a = await prep(n);
        deprecatePatch('x');
        return { a, p: await createHook<string>({ token: TOKEN }) };
      };
      const noPatch = async (n: number) => ({ a: await prep(n), p: await createHook<string>({ token: TOKEN }) });
      const quiet = await resumeCold(same, (await newRun(noPatch)).log.events);
      expect(returned(quiet.ex)).to.deep.equal({ a: 2, p: 'ok' });
      expect(quiet.log.events.filter((e) => e.type === 'patch_applied')).to.deep.equal([]);

      // A pre-patch history of the old branch: the step mismatch names deprecatePatch('x').
      const old = await newRun(OLD);
      const ex = await replay(spec(DEPRECATED), old.log.events);
      expectDivergence(ex, 'step_2', `"${U}.old"`, `deprecatePatch('x') ran on a history recorded before that patch`);
    });

    it('code without the call replays a marker deprecatePatch recorded (the last clean-up step)', async () => {
      const fresh = await newRun(DEPRECATED);
      const r = await resumeCold(FINAL, fresh.log.events, 'z');
      expect(returned(r.ex)).to.deep.equal({ b: 'new:2', p: 'z' });
    });
  });

  describe('contradictions: NondeterminismError naming the patch', () => {
    it('the log has marker x where the code now calls patched("y")', async () => {
      const renamed = async (n: number) => {
        const a = await prep(n);
        const b = patched('y') ? await newWay(a) : await oldWay(a);
        return { b, p: await createHook<string>({ token: TOKEN }) };
      };
      const fresh = await newRun(PATCHED);
      const ex = await replay(spec(renamed), fresh.log.events);
      expectDivergence(ex, 'patch "x"', "patched('x')", "it called patched('y') there instead", 'docs/PATCHING.md');
    });

    it('the log has marker x where the code (the old code: a rollback) makes another call instead', async () => {
      const fresh = await newRun(PATCHED);
      const ex = await replay(spec(OLD), fresh.log.events);
      expectDivergence(ex, 'patch "x"', "did not call patched('x') or deprecatePatch('x')");
      expect(ex.divergence!.message).to.not.include('instead');
    });

    it('the patch call removed without deprecatePatch first (the new branch kept): the marker patched() recorded is not skipped', async () => {
      const fresh = await newRun(PATCHED);
      const ex = await replay(spec(FINAL), fresh.log.events);
      expectDivergence(ex, 'patch "x"', "replace it with deprecatePatch('x')");
    });

    it('patched("x") moved earlier than where the log records it: false there, then the marker contradicts it', async () => {
      const early = async (n: number) => {
        const isNew = patched('x');
        const a = await prep(n);
        const b = isNew ? await newWay(a) : await oldWay(a);
        return { b, p: await createHook<string>({ token: TOKEN }) };
      };
      const fresh = await newRun(PATCHED);
      const ex = await replay(spec(early), fresh.log.events);
      expectDivergence(ex, 'patch "x"', 'earlier than the event log records it');
    });

    it('a warm execution meets the contradiction the same way as a cold one', async () => {
      const fresh = await newRun(PATCHED);
      const events = fresh.log.events;
      // (the run_failed ops differ only in the error's stack)
      const seen = (ex: Execution) => ({ ...snapshot(ex, NOW), ops: opLines(ex.intents(NOW, false).ops) });
      const cold = await replay(spec(OLD), events);
      expectDivergence(cold, 'patch "x"');
      for (let i = 1; i < events.length; i++) {
        const warm = await replayInBatches(spec(OLD), [events.slice(0, i), events.slice(i)], NOW);
        expect(seen(warm), `split at ${i}`).to.deep.equal(seen(cold));
      }
    });
  });

  describe('misuse', () => {
    it('outside workflow code: WorkflowError saying where it can be called', () => {
      for (const call of [() => patched('x'), () => deprecatePatch('x')]) {
        expect(call).to.throw(WorkflowError, /can only be called inside a workflow function/);
      }
    });

    it('an invalid patch id: InvalidArgumentError saying what an id may be', () => {
      const bad: unknown[] = [42, null, undefined, '', 'a'.repeat(101), 'has space', 'naïve'];
      for (const id of bad) {
        expect(() => patched(id as string), String(id)).to.throw(InvalidArgumentError, /1-100 letters, digits or '_ \. : \/ @ -'/);
        expect(() => deprecatePatch(id as string), String(id)).to.throw(InvalidArgumentError, /deprecatePatch/);
      }
    });

    it('inside a workflow, an invalid id fails the run with that error; the longest valid id works', async () => {
      const bad = await newRun(async () => patched(''));
      expect(bad.ops.map((o) => o.t)).to.deep.equal(['run_failed']);
      expect(JSON.parse((bad.ops[0] as Extract<CommitOp, { t: 'run_failed' }>).err).name).to.equal('InvalidArgumentError');
      const long = 'a:b/c@d.e-f_'.padEnd(100, 'z');
      const good = await newRun(async () => patched(long));
      expect(good.ops).to.deep.equal([marker(long), { t: 'run_completed', c: '', d: serialize(true, 'o', { wrapKey: 'output' }), out: serialize(true) }]);
    });
  });
});
