/**
 * Determinism (ARCHITECTURE §6): Date.now(), new Date() and Math.random() replay the
 * same values on every wake-up, even on a cold full replay by another worker;
 * workflow code that no longer matches its log fails the run with a
 * NondeterminismError that names what diverged.
 */
import { expect } from 'chai';
import { createHook, defineStep, defineWorkflow, getWorkflowMetadata } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, getRun, resumeHook, start, type WorkflowEvent } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { eventLines, expectRejection, outcomeOrProgress } from './_util.js';

const N = 'engine-determinism';
const WAKE_UPS = 5;

interface Values {
  i: number;
  now: number;
  date: number;
  rnd: number;
  rnd2: number;
}

/** Every execution of the workflow body pushes what it saw here (key: run id). */
const observed = new Map<string, Values[]>();

const record = defineStep(`${N}.record`, async (v: Values) => v);

const clocky = defineWorkflow(`${N}.clocky`, async (base: string) => {
  const runId = getWorkflowMetadata().workflowRunId;
  const list = observed.get(runId) ?? [];
  observed.set(runId, list);
  const recorded: Values[] = [];
  for (let i = 0; i < WAKE_UPS; i++) {
    const v: Values = { i, now: Date.now(), date: new Date().getTime(), rnd: Math.random(), rnd2: Math.random() };
    list.push(v);
    // The step's recorded result is what the first execution saw; a replay must see the same.
    const r = await record(v);
    if (JSON.stringify(r) !== JSON.stringify(v)) {
      throw new Error(`non-deterministic values at iteration ${i}: recorded ${JSON.stringify(r)}, replay saw ${JSON.stringify(v)}`);
    }
    recorded.push(r);
    await createHook<number>({ token: `${base}:${i}` });
  }
  return { recorded, end: { now: Date.now(), rnd: Math.random() } };
});

const stepA = defineStep(`${N}.stepA`, async () => 'A');
const stepB = defineStep(`${N}.stepB`, async () => 'B');

describe('engine: determinism', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  const workers: WorkflowWorker[] = [];
  const prefix = uniquePrefix('eng-det');
  const newWorker = async (workflows: Parameters<typeof createWorker>[0]['workflows']) => {
    const w = await createWorker({ workflows, connection: redis.url, prefix, lockDurationMs: 5000, logger: () => undefined });
    workers.push(w);
    return w;
  };

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
  });
  // Workers run any registered workflow by name and keep suspended runs warm:
  // close every worker after each test so none replays another test's run.
  afterEach(async () => {
    for (const w of workers.splice(0)) await w.close();
  });
  after(async () => {
    for (const w of workers.splice(0)) await w.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it(`Date.now(), new Date() and Math.random() replay identically across ${WAKE_UPS} cold wake-ups on fresh workers`, async () => {
    const base = `${N}:${Math.random().toString(36).slice(2, 10)}`;
    let worker = await newWorker([clocky]);
    const run = await start(clocky, [base]);
    const coldWorkers: WorkflowWorker[] = [];
    for (let i = 0; i < WAKE_UPS; i++) {
      const token = `${base}:${i}`;
      await waitFor(() => getHookByToken(token), { what: `hook ${i} to be registered` });
      // A fresh worker has no warm execution: this wake-up replays the whole log.
      await worker.close();
      worker = await newWorker([clocky]);
      coldWorkers.push(worker);
      await resumeHook(token, i);
      if (i < WAKE_UPS - 1) await waitFor(() => getHookByToken(`${base}:${i + 1}`), { what: `hook ${i + 1}` });
    }
    const out = (await run.returnValue) as { recorded: Values[]; end: { now: number; rnd: number } };
    expect(await getRun(run.runId).status).to.equal('completed');

    // Every wake-up was a cold replay.
    for (const w of coldWorkers) {
      expect(w.stats.replays).to.be.at.least(1);
      expect(w.stats.warmReplays).to.equal(0);
    }

    // Each iteration's values were seen by several executions, all identical.
    const obs = observed.get(run.runId)!;
    for (let i = 0; i < WAKE_UPS; i++) {
      const seenAtI = obs.filter((v) => v.i === i);
      // Iteration i runs in the first execution (i = 0) and in every cold replay from wake-up i on.
      expect(seenAtI.length, `executions that reached iteration ${i}`).to.be.at.least(WAKE_UPS + 1 - i);
      for (const v of seenAtI) expect(v).to.deep.equal(out.recorded[i]);
    }

    // Time inside the workflow is the time of the last consumed event (at the start: the run's
    // startedAt, which the worker that began it recorded with run_started); randomness is seeded per run.
    const events: WorkflowEvent[] = await run.events();
    const received = events.filter((e) => e.type === 'hook_received');
    expect(received).to.have.length(WAKE_UPS);
    const info = await run.info();
    expect(out.recorded[0]!.now).to.equal(+info.startedAt!);
    expect(+info.startedAt!).to.be.at.least(+info.createdAt);
    for (let i = 1; i < WAKE_UPS; i++) expect(out.recorded[i]!.now, `now at iteration ${i}`).to.equal(+received[i - 1]!.createdAt);
    expect(out.end.now).to.equal(+received[WAKE_UPS - 1]!.createdAt);
    for (const v of out.recorded) {
      expect(v.date).to.equal(v.now);
      expect(v.rnd).to.be.within(0, 1);
      expect(v.rnd2).to.not.equal(v.rnd);
    }
    expect(new Set(out.recorded.map((v) => v.rnd)).size).to.equal(WAKE_UPS);
  });

  it('changing the workflow code between wake-ups fails the run with a NondeterminismError naming the step', async () => {
    const name = `${N}.changing`;
    const token = `${N}:change:${Math.random().toString(36).slice(2, 10)}`;
    const v1 = defineWorkflow(name, async (t: string) => {
      const a = await stepA();
      const p = await createHook<string>({ token: t });
      return [a, p];
    });
    const w1 = await newWorker([v1]);
    const run = await start(v1, [token]);
    await waitFor(() => getHookByToken(token), { what: 'v1 to suspend on its hook' });
    await w1.close();

    // "Deploy" a new body under the same name: it calls step B where the log has step A.
    const v2 = defineWorkflow(name, async (t: string) => {
      const b = await stepB();
      const p = await createHook<string>({ token: t });
      return [b, p];
    });
    await newWorker([v2]);
    await resumeHook(token, 'go');

    const err = await expectRejection<Error & { error: { name?: string; message: string } }>(run.returnValue, 'WorkflowRunFailedError');
    expect(err.error.name).to.equal('NondeterminismError');
    expect(err.error.message).to.include(`${N}.stepA`);
    expect(err.error.message).to.include(`${N}.stepB`);
    expect(await getRun(run.runId).status).to.equal('failed');

    const lines = await eventLines(run);
    expect(lines[lines.length - 1]).to.equal('run_failed');
    // Nothing of the new code was recorded: no step B, and step A ran once.
    const events = await run.events();
    const createdSteps = events.filter((e) => e.type === 'step_created').map((e) => (e.data as { stepName: string }).stepName);
    expect(createdSteps).to.deep.equal([`${N}.stepA`]);
    await expectRejection(resumeHook(token, 'again'), 'HookNotFoundError');
  });

  it('a changed custom hook token on replay is a NondeterminismError too', async () => {
    const name = `${N}.changing-token`;
    const token = `${N}:tok:${Math.random().toString(36).slice(2, 10)}`;
    const v1 = defineWorkflow(name, async (t: string) => {
      const first = await createHook<string>({ token: `${t}:a` });
      const second = await createHook<string>({ token: `${t}:b` });
      return [first, second];
    });
    const w1 = await newWorker([v1]);
    const run = await start(v1, [token]);
    await waitFor(() => getHookByToken(`${token}:a`), { what: 'v1 to suspend on its first hook' });
    await w1.close();

    defineWorkflow(name, async (t: string) => {
      const first = await createHook<string>({ token: `${t}:CHANGED` });
      const second = await createHook<string>({ token: `${t}:b` });
      return [first, second];
    });
    await newWorker([v1]); // the handle is only a name: the worker runs the body registered now
    await resumeHook(`${token}:a`, 'go');

    // Fail fast if the replay goes on and registers the second hook instead of failing.
    const outcome = await outcomeOrProgress(run, () => getHookByToken(`${token}:b`));
    expect(outcome.kind, 'the replay went on past a hook whose custom token changed').to.equal('rejected');
    const err = (outcome as unknown as { error: Error & { error: { name?: string; message: string } } }).error;
    expect(err.name).to.equal('WorkflowRunFailedError');
    expect(err.error.name).to.equal('NondeterminismError');
    expect(err.error.message).to.include('hook_1');
    expect(err.error.message).to.not.include(token); // tokens never appear in messages
  });

  it('workflow code that drops a recorded step call fails with a NondeterminismError naming that step', async () => {
    const name = `${N}.dropping`;
    const token = `${N}:drop:${Math.random().toString(36).slice(2, 10)}`;
    const v1 = defineWorkflow(name, async (t: string) => {
      const a = await stepA();
      const p = await createHook<string>({ token: t });
      return [a, p];
    });
    const w1 = await newWorker([v1]);
    const run = await start(v1, [token]);
    await waitFor(() => getHookByToken(token), { what: 'v1 to suspend on its hook' });
    await w1.close();

    defineWorkflow(name, async (t: string) => {
      const p = await createHook<string>({ token: t });
      return ['no step', p];
    });
    await newWorker([v1]);
    await resumeHook(token, 'go');

    const err = await expectRejection<Error & { error: { name?: string; message: string } }>(run.returnValue, 'WorkflowRunFailedError');
    expect(err.error.name).to.equal('NondeterminismError');
    expect(err.error.message).to.include('step_1');
    expect(err.error.message).to.include(`${N}.stepA`);
  });

  it('setTimeout() and setInterval() throw UnavailableInWorkflowError in workflow code; steps and the rest of the process keep them', async () => {
    const name = `${N}.timers`;
    const waited = defineStep(`${N}.waited`, async (ms: number) => {
      await new Promise((r) => setTimeout(r, ms)); // a step may use real timers
      return ms;
    });
    const wf = defineWorkflow(name, async (which: 'setTimeout' | 'setInterval' | 'caught') => {
      if (which === 'caught') {
        let message = '';
        try {
          setTimeout(() => undefined, 10);
        } catch (err) {
          message = `${(err as Error).name}: ${(err as Error).message}`;
        }
        return { message, waited: await waited(5) };
      }
      if (which === 'setTimeout') setTimeout(() => undefined, 10);
      else setInterval(() => undefined, 10);
      return 'unreachable';
    });
    await newWorker([wf]);
    const caught = (await (await start(wf, ['caught'])).returnValue) as { message: string; waited: number };
    expect(caught.waited).to.equal(5);
    expect(caught.message).to.match(/^UnavailableInWorkflowError: setTimeout\(\) is not available in workflow code/);
    expect(caught.message).to.include("sleep('1s')");
    for (const which of ['setTimeout', 'setInterval'] as const) {
      const run = await start(wf, [which]);
      const err = await expectRejection<Error & { cause?: Error }>(run.returnValue, 'WorkflowRunFailedError');
      expect(err.message, which).to.include(`${which}() is not available in workflow code`);
    }
    // Outside workflow code the globals behave as always (this test's own timers, BullMQ's, ioredis').
    expect(await new Promise((r) => setTimeout(() => r('fired'), 1))).to.equal('fired');
  });

  it('a default (random) hook token is the same on a cold replay as the one registered', async () => {
    const name = `${N}.default-token`;
    const announced: string[] = [];
    const announce = defineStep(`${N}.announce`, async (t: string) => {
      announced.push(t);
      return t;
    });
    const wf = defineWorkflow(name, async () => {
      const hook = createHook<string>();
      const t0 = await announce(hook.token); // e.g. e-mailed to the approver
      const p = await hook;
      return { announced: t0, tokenAfterReplay: hook.token, payload: p };
    });
    const w1 = await newWorker([wf]);
    const run = await start(wf, []);
    await waitFor(() => announced.length === 1, { what: 'the token to be announced' });
    const token = announced[0]!;
    await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
    await w1.close();

    await newWorker([wf]); // cold replay from the log
    await resumeHook(token, 'approved');
    const out = (await run.returnValue) as { announced: string; tokenAfterReplay: string; payload: string };
    expect(out.payload).to.equal('approved');
    expect(out.announced).to.equal(token);
    expect(out.tokenAfterReplay, 'hook.token after a cold replay').to.equal(token);
  });
});
