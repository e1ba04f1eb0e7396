/**
 * Steps: retries, RetryableError delays, FatalError, maxRetries, stable step
 * ids, unserialisable results, parallel steps on the step queue, and steps
 * called outside a workflow.
 */
import { expect } from 'chai';
import { defineStep, defineWorkflow, FatalError, getStepMetadata, getWorkflowMetadata, RetryableError } from 'workflow-redis';
import { closeWorkflowClient, configure, getRun, start, type Run, type WorkflowEvent } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { deferred, eventLines, waitForEvent, type Deferred } from './_util.js';

const N = 'engine-steps';

interface AttemptRecord {
  attempt: number;
  stepId: string;
  at: number;
}
/** What each step saw, per key (a key per test run, so tests do not mix). */
const seen = new Map<string, AttemptRecord[]>();
function note(key: string): AttemptRecord {
  const m = getStepMetadata();
  const rec = { attempt: m.attempt, stepId: m.stepId, at: Date.now() };
  seen.set(key, [...(seen.get(key) ?? []), rec]);
  return rec;
}

const flaky = defineStep(`${N}.flaky`, async (key: string) => {
  const rec = note(key);
  if (rec.attempt < 3) throw new Error(`boom ${rec.attempt}`);
  return { attempt: rec.attempt, stepId: rec.stepId };
});
const slowRetry = defineStep(`${N}.slow-retry`, async (key: string) => {
  const rec = note(key);
  if (rec.attempt === 1) throw new RetryableError('not yet', { retryAfter: '2s' });
  return rec.attempt;
});
const fatal = defineStep(`${N}.fatal`, async (key: string) => {
  note(key);
  throw new FatalError('card declined');
});
const alwaysFails = defineStep(
  `${N}.always-fails`,
  async (key: string) => {
    note(key);
    throw new Error('still broken');
  },
  { maxRetries: 1 },
);
const unserialisable = defineStep(
  `${N}.unserialisable`,
  async (key: string) => {
    note(key);
    return { ok: true, callback: () => 'functions are not data' };
  },
  { maxRetries: 1 },
);

const gates = new Map<string, Deferred>();
const gated = defineStep(`${N}.gated`, async (name: string) => {
  const m = getStepMetadata();
  await gates.get(name)!.promise;
  return `${name}:${m.stepName}`;
});

const add = defineStep(`${N}.add`, async (a: number, b: number) => a + b);

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; name: string; message: string }> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, name: (err as Error).name, message: (err as Error).message };
  }
}

const retries = defineWorkflow(`${N}.retries`, async (key: string) => flaky(key));
const retryAfter = defineWorkflow(`${N}.retry-after`, async (key: string) => slowRetry(key));
const catchesFatal = defineWorkflow(`${N}.catches-fatal`, async (key: string) => {
  try {
    await fatal(key);
    return { caught: false };
  } catch (err) {
    const e = err as Error;
    return { caught: true, name: e.name, message: e.message, isFatal: e instanceof FatalError };
  }
});
const exhausts = defineWorkflow(`${N}.exhausts`, async (key: string) => settle(alwaysFails(key)));
const badResult = defineWorkflow(`${N}.bad-result`, async (key: string) => settle(unserialisable(key)));
const uncaught = defineWorkflow(`${N}.uncaught`, async (key: string) => {
  await alwaysFails(key);
  return 'unreachable';
});
const parallel = defineWorkflow(`${N}.parallel`, async (names: string[]) => {
  const wf = getWorkflowMetadata();
  const results = await Promise.all(names.map((n) => gated(n)));
  return { results, workflowName: wf.workflowName };
});

const stepEvents = (events: WorkflowEvent[], type: string) => events.filter((e) => e.type === type);

describe('engine: steps', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const prefix = uniquePrefix('eng-steps');
  const key = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({
      workflows: [retries, retryAfter, catchesFatal, exhausts, badResult, uncaught, parallel],
      connection: redis.url,
      prefix,
      lockDurationMs: 5000,
      // Failed attempts are expected here; keep the output quiet.
      logger: () => undefined,
    });
  });
  after(async () => {
    for (const g of gates.values()) g.resolve();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('a step failing twice then succeeding completes on attempt 3, with a stepId stable across retries', async () => {
    const k = key('flaky');
    const run = await start(retries, [k]);
    const out = (await run.returnValue) as { attempt: number; stepId: string };
    expect(out.attempt).to.equal(3);

    const attempts = seen.get(k)!;
    expect(attempts.map((a) => a.attempt)).to.deep.equal([1, 2, 3]);
    expect(new Set(attempts.map((a) => a.stepId)).size).to.equal(1);
    expect(out.stepId).to.equal(attempts[0]!.stepId);
    expect(out.stepId).to.include(run.runId);

    const events = await run.events();
    expect(stepEvents(events, 'step_started').map((e) => (e.data as { attempt: number }).attempt)).to.deep.equal([1, 2, 3]);
    expect(stepEvents(events, 'step_retrying')).to.have.length(2);
    expect(stepEvents(events, 'step_completed')).to.have.length(1);
    expect(stepEvents(events, 'step_failed')).to.have.length(0);
    expect(new Set(events.filter((e) => e.type.startsWith('step_')).map((e) => e.correlationId))).to.deep.equal(new Set(['step_1']));
    expect(await getRun(run.runId).status).to.equal('completed');
  });

  it("RetryableError('x', { retryAfter: '2s' }) delays the next attempt by at least 2 s", async () => {
    const k = key('retry-after');
    const run = await start(retryAfter, [k]);
    expect(await run.returnValue).to.equal(2);

    const [a1, a2] = seen.get(k)!;
    expect(a2!.at - a1!.at).to.be.at.least(2000);

    const events = await run.events();
    const retrying = stepEvents(events, 'step_retrying');
    expect(retrying).to.have.length(1);
    expect((retrying[0]!.data as { error: { name: string; message: string } }).error.message).to.equal('not yet');
    const secondStart = stepEvents(events, 'step_started')[1]!;
    // Server timestamps: the retry event is written a moment after the throw that set retryAt.
    expect(+secondStart.createdAt - +retrying[0]!.createdAt).to.be.at.least(1900);
  });

  it('a FatalError is not retried and the workflow can catch it (err.name === "FatalError")', async () => {
    const k = key('fatal');
    const run = await start(catchesFatal, [k]);
    expect(await run.returnValue).to.deep.equal({ caught: true, name: 'FatalError', message: 'card declined', isFatal: true });
    expect(seen.get(k)).to.have.length(1);
    const lines = await eventLines(run);
    expect(lines).to.include('step_failed step_1');
    expect(lines).to.not.include('step_retrying step_1');
    expect(lines[lines.length - 1]).to.equal('run_completed');
  });

  it('a step that exhausts { maxRetries: 1 } runs twice and then rejects in the workflow', async () => {
    const k = key('exhaust');
    const run = await start(exhausts, [k]);
    const out = (await run.returnValue) as { ok: false; name: string; message: string };
    expect(out.ok).to.equal(false);
    expect(out.name).to.equal('FatalError');
    expect(out.message).to.include('still broken');
    expect(out.message).to.include(`${N}.always-fails`);
    expect(seen.get(k)!.map((a) => a.attempt)).to.deep.equal([1, 2]);
    const events = await run.events();
    expect(stepEvents(events, 'step_started')).to.have.length(2);
    expect(stepEvents(events, 'step_retrying')).to.have.length(1);
    expect(stepEvents(events, 'step_failed')).to.have.length(1);
  });

  it('an uncaught step failure fails the run (returnValue rejects with WorkflowRunFailedError)', async () => {
    const k = key('uncaught');
    const run = await start(uncaught, [k]);
    let err: (Error & { error?: { message: string } }) | undefined;
    try {
      await run.returnValue;
    } catch (e) {
      err = e as Error & { error?: { message: string } };
    }
    expect(err?.name).to.equal('WorkflowRunFailedError');
    expect(err!.error!.message).to.include('still broken');
    expect(await getRun(run.runId).status).to.equal('failed');
    expect(seen.get(k)).to.have.length(2);
  });

  it('a step whose result cannot be serialised fails that attempt (retry rules apply), then the workflow sees the error', async () => {
    const k = key('bad-result');
    const run = await start(badResult, [k]);
    const out = (await run.returnValue) as { ok: false; name: string; message: string };
    expect(out.ok).to.equal(false);
    expect(out.message).to.match(/serialis/i);
    expect(out.message).to.include('failed after 2 attempt(s)');
    expect(seen.get(k)).to.have.length(2);
    const lines = await eventLines(run);
    expect(lines).to.include('step_retrying step_1');
    expect(lines).to.include('step_failed step_1');
    expect(lines).to.not.include('step_completed step_1');
  });

  it('Promise.all over 3 steps: they go to the step queue, run in parallel, and results come back in call order', async () => {
    const names = ['a', 'b', 'c'].map((n) => key(n));
    for (const n of names) gates.set(n, deferred());
    const run = await start(parallel, [names]);

    // All three are running at once (queued, not inline one by one).
    const events = (await waitFor(
      async () => {
        const evs = await run.events();
        return stepEvents(evs, 'step_started').length === 3 ? evs : undefined;
      },
      { what: 'three steps started' },
    ))!;
    const created = stepEvents(events, 'step_created');
    expect(created.map((e) => e.correlationId)).to.deep.equal(['step_1', 'step_2', 'step_3']);
    expect(created.map((e) => (e.data as { mode: string }).mode)).to.deep.equal(['queue', 'queue', 'queue']);

    // Finish them in reverse order.
    const completedOrder: string[] = [];
    for (const [i, n] of [...names.entries()].reverse()) {
      gates.get(n)!.resolve();
      const id = `step_${i + 1}`;
      await waitForEvent(run as Run<unknown>, (e) => e.type === 'step_completed' && e.correlationId === id, `${id} to complete`);
      completedOrder.push(id);
    }
    expect(completedOrder).to.deep.equal(['step_3', 'step_2', 'step_1']);

    const out = (await run.returnValue) as { results: string[]; workflowName: string };
    expect(out.results).to.deep.equal(names.map((n) => `${n}:${N}.gated`));
    expect(out.workflowName).to.equal(`${N}.parallel`);
    const all = await run.events();
    expect(stepEvents(all, 'step_completed').map((e) => e.correlationId)).to.deep.equal(['step_3', 'step_2', 'step_1']);
  });

  it('a step called outside a workflow just runs the function', async () => {
    expect(await add(2, 3)).to.equal(5);
    const rec: string[] = [];
    const local = defineStep(`${N}.local`, async (x: string) => {
      rec.push(x);
      return x.toUpperCase();
    });
    expect(await local('hi')).to.equal('HI');
    expect(rec).to.deep.equal(['hi']);
    // Errors propagate as thrown, with no retry.
    let calls = 0;
    const boom = defineStep(`${N}.local-boom`, () => {
      calls++;
      throw new Error('plain');
    });
    let caught: Error | undefined;
    try {
      await boom();
    } catch (e) {
      caught = e as Error;
    }
    expect(caught?.message).to.equal('plain');
    expect(calls).to.equal(1);
  });
});
