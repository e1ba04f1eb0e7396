/**
 * Hooks: many concurrent payloads, buffering, races with sleeps, token
 * conflicts, dispose, schema validation, metadata.
 */
import { expect } from 'chai';
import { z } from 'zod';
import { createHook, defineHook, defineStep, defineWorkflow, sleep } from 'workflow-redis';
import {
  closeWorkflowClient,
  configure,
  getHookByToken,
  getRun,
  resumeHook,
  start,
  type HookInfo,
} from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { deferred, eventLines, expectRejection, resumeWhenReady, waitForEvent } from './_util.js';

const N = 'engine-hooks';
const COUNT = 200;

// (a) many payloads through `for await`
const collect = defineWorkflow(`${N}.collect`, async (token: string, count: number) => {
  const hook = createHook<{ i: number }>({ token });
  const got: number[] = [];
  for await (const p of hook) {
    got.push(p.i);
    if (got.length >= count) break;
  }
  return got;
});

// (b) payloads that arrive before the workflow awaits are buffered
let bufferGate = deferred();
const slowStep = defineStep(`${N}.slow`, async () => {
  await bufferGate.promise;
  return 'step done';
});
const buffered = defineWorkflow(`${N}.buffered`, async (token: string) => {
  const hook = createHook<string>({ token });
  const s = await slowStep();
  const a = await hook;
  const b = await hook;
  const c = await hook;
  return [s, a, b, c];
});

// (c) races with sleeps
const raceLong = defineWorkflow(`${N}.race-long`, async (token: string) => {
  const hook = createHook<{ v: number }>({ token });
  return Promise.race([hook.then((p) => ({ p })), sleep('1d').then(() => 'timeout' as const)]);
});
const raceLoop = defineWorkflow(`${N}.race-loop`, async (token: string) => {
  const hook = createHook<{ v: string }>({ token });
  const out: Array<'timeout' | { p: { v: string } }> = [];
  for (let i = 0; i < 3; i++) {
    // The first iteration times out quickly; later ones leave ample time for the payload.
    const r = await Promise.race([hook.then((p) => ({ p })), sleep(i === 0 ? '300ms' : '10s').then(() => 'timeout' as const)]);
    out.push(r);
    if (r !== 'timeout') break;
  }
  return out;
});

// (d) token conflict
const holder = defineWorkflow(`${N}.holder`, async (token: string) => {
  const hook = createHook<string>({ token });
  return await hook;
});
const contender = defineWorkflow(`${N}.contender`, async (token: string) => {
  const hook = createHook<string>({ token });
  try {
    const p = await hook;
    return { got: p };
  } catch (err) {
    const e = err as Error & { conflictingRunId?: string; token?: string };
    return { name: e.name, conflictingRunId: e.conflictingRunId, token: e.token, message: e.message };
  }
});

// (e) dispose releases the token
const disposer = defineWorkflow(`${N}.disposer`, async (first: string, second: string) => {
  const h1 = createHook<string>({ token: first });
  const h2 = createHook<string>({ token: second });
  const a = await h1;
  h1.dispose();
  h1.dispose(); // idempotent
  const b = await h2;
  return [a, b];
});

// (e2) a hook disposed and a new one on the same token, with no suspension in between
const regenerate = defineWorkflow(`${N}.regenerate`, async (token: string) => {
  const h1 = createHook<string>({ token });
  const a = await h1; // hook_1 is committed (and resumed) before it is disposed
  h1.dispose();
  const h2 = createHook<string>({ token });
  const b = await h2;
  h2.dispose();
  // hook_3 is never committed before its disposal: created, disposed, then hook_4 takes the token, in one commit.
  createHook<string>({ token }).dispose();
  const c = await createHook<string>({ token });
  return [a, b, c];
});

// (f) schema-validated hook
const approvalHook = defineHook({ schema: z.object({ approved: z.boolean(), note: z.string().min(1) }) });
const validated = defineWorkflow(`${N}.validated`, async (token: string) => {
  const hook = approvalHook.create({ token });
  const p = await hook;
  return { approved: p.approved, note: p.note };
});

// (h) two concurrent awaits on one hook claim two payloads
const pair = defineWorkflow(`${N}.pair`, async (token: string) => {
  const hook = createHook<string>({ token });
  const [a, b] = await Promise.all([hook, hook]);
  return [a, b];
});

// (g) metadata
const withMetadata = defineWorkflow(`${N}.metadata`, async (token: string, metadata: unknown) => {
  const hook = createHook<string>({ token, metadata });
  return await hook;
});

describe('engine: hooks', function () {
  this.timeout(20_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const prefix = uniquePrefix('eng-hooks');
  const tok = (label: string) => `${N}:${label}:${Math.random().toString(36).slice(2, 10)}`;

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
    worker = await createWorker({
      workflows: [collect, buffered, raceLong, raceLoop, holder, contender, disposer, regenerate, validated, withMetadata, pair],
      connection: redis.url,
      prefix,
      lockDurationMs: 5000,
    });
  });
  after(async () => {
    bufferGate.resolve();
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it(`(a) ${COUNT} concurrent resumeHook calls on one token: exactly ${COUNT} payloads, each once, in stream order`, async () => {
    const token = tok('many');
    const run = await start(collect, [token, COUNT]);
    await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });

    const infos = await Promise.all(Array.from({ length: COUNT }, (_, i) => resumeHook(token, { i })));
    expect(infos.every((h) => h.runId === run.runId && h.token === token)).to.equal(true);

    const got = (await run.returnValue) as number[];
    expect(got).to.have.length(COUNT);
    expect([...got].sort((x, y) => x - y)).to.deep.equal(Array.from({ length: COUNT }, (_, i) => i));

    const events = await run.events({ limit: 10_000 });
    const received = events.filter((e) => e.type === 'hook_received');
    expect(received).to.have.length(COUNT);
    const streamOrder = received.map((e) => (e.data as { payload: { i: number } }).payload.i);
    expect(got).to.deep.equal(streamOrder);
    expect(events[events.length - 1]!.type).to.equal('run_completed');
    expect(await getRun(run.runId).status).to.equal('completed');
  });

  it('(b) payloads sent before the workflow awaits are buffered, in order', async () => {
    bufferGate = deferred();
    const token = tok('buffer');
    const run = await start(buffered, [token]);
    // The hook is registered in the same suspension that starts the step; the step blocks.
    await resumeWhenReady(token, 'p0');
    await resumeHook(token, 'p1');
    await resumeHook(token, 'p2');
    const before = await run.events();
    expect(before.some((e) => e.type === 'step_completed')).to.equal(false);
    expect(before.filter((e) => e.type === 'hook_received')).to.have.length(3);
    bufferGate.resolve();

    expect(await run.returnValue).to.deep.equal(['step done', 'p0', 'p1', 'p2']);
    const lines = await eventLines(run);
    // All three payloads were in the log before the step finished and the code awaited them.
    const lastReceived = lines.lastIndexOf('hook_received hook_1');
    expect(lastReceived).to.be.lessThan(lines.indexOf('step_completed step_1'));
  });

  it('(c) Promise.race([hook, sleep(1d)]): the hook wins', async () => {
    const token = tok('race-long');
    const t0 = Date.now();
    const run = await start(raceLong, [token]);
    await resumeWhenReady(token, { v: 7 });
    expect(await run.returnValue).to.deep.equal({ p: { v: 7 } });
    expect(Date.now() - t0).to.be.lessThan(15_000);
    const lines = await eventLines(run);
    expect(lines).to.include('wait_created wait_1');
    expect(lines).to.not.include('wait_completed wait_1');
  });

  it('(c) a race loop whose first iteration timed out still receives a later payload (not lost)', async () => {
    const token = tok('race-loop');
    const run = await start(raceLoop, [token]);
    // Wait until the first iteration has timed out, then send the payload.
    await waitForEvent(run, (e) => e.type === 'wait_completed' && e.correlationId === 'wait_1', 'the first sleep to fire');
    await resumeWhenReady(token, { v: 'late' });
    const out = await run.returnValue;
    expect(out).to.deep.equal(['timeout', { p: { v: 'late' } }]);
    const events = await run.events();
    expect(events.filter((e) => e.type === 'hook_received')).to.have.length(1);
    expect(events.filter((e) => e.type === 'wait_completed').map((e) => e.correlationId)).to.deep.equal(['wait_1']);
  });

  it('(d) a second run claiming a live token gets a HookConflictError it can catch', async () => {
    const token = tok('conflict');
    const runA = await start(holder, [token]);
    const infoA = await waitFor(() => getHookByToken(token), { what: 'run A to hold the token' });
    expect(infoA.runId).to.equal(runA.runId);

    const runB = await start(contender, [token]);
    const outB = (await runB.returnValue) as { name: string; conflictingRunId: string; token: string; message: string };
    expect(outB.name).to.equal('HookConflictError');
    expect(outB.conflictingRunId).to.equal(runA.runId);
    expect(outB.token).to.equal(token);
    expect(outB.message).to.not.include(token); // tokens never appear in messages
    const linesB = await eventLines(runB);
    expect(linesB).to.include('hook_conflict hook_1');
    expect(linesB).to.not.include('hook_created hook_1');

    // The token still belongs to A, and resuming it reaches A.
    expect((await getHookByToken(token)).runId).to.equal(runA.runId);
    const info = await resumeHook(token, 'for A');
    expect(info.runId).to.equal(runA.runId);
    expect(await runA.returnValue).to.equal('for A');

    // Once A has finished the token is free again: a new run can claim it.
    await expectRejection(getHookByToken(token), 'HookNotFoundError');
    const runC = await start(holder, [token]);
    const infoC = await resumeWhenReady(token, 'for C');
    expect(infoC.runId).to.equal(runC.runId);
    expect(await runC.returnValue).to.equal('for C');
  });

  it('(e2) a hook disposed and a new one created on the same token in one commit: the new hook gets the token, not a conflict', async () => {
    const token = tok('regen');
    const run = await start(regenerate, [token]);
    await resumeWhenReady(token, 'one');
    await waitForEvent(run, (e) => e.type === 'hook_created' && e.correlationId === 'hook_2', 'hook_2');
    await resumeHook(token, 'two');
    await waitForEvent(run, (e) => e.type === 'hook_created' && e.correlationId === 'hook_4', 'hook_4');
    await resumeHook(token, 'three');
    const out = await run.returnValue;
    expect(out).to.deep.equal(['one', 'two', 'three']);
    const lines = (await eventLines(run)).filter((l) => l.startsWith('hook_'));
    expect(lines).to.deep.equal([
      'hook_created hook_1',
      'hook_received hook_1',
      'hook_disposed hook_1',
      'hook_created hook_2',
      'hook_received hook_2',
      'hook_disposed hook_2',
      'hook_created hook_3',
      'hook_disposed hook_3',
      'hook_created hook_4',
      'hook_received hook_4',
    ]);
  });

  it('(e) dispose() releases the token once the workflow suspends', async () => {
    const first = tok('dispose-1');
    const second = tok('dispose-2');
    const run = await start(disposer, [first, second]);
    await resumeWhenReady(first, 'one');
    // The workflow disposes hook_1 and suspends on hook_2: hook_disposed is committed then.
    await waitForEvent(run, (e) => e.type === 'hook_disposed' && e.correlationId === 'hook_1', 'hook_1 to be disposed');
    const before = (await run.events()).length;
    await expectRejection(resumeHook(first, 'too late'), 'HookNotFoundError');
    await expectRejection(getHookByToken(first), 'HookNotFoundError');
    expect((await run.events()).length).to.equal(before);
    expect(await getRun(run.runId).status).to.equal('running');

    await resumeHook(second, 'two');
    expect(await run.returnValue).to.deep.equal(['one', 'two']);
    const lines = await eventLines(run);
    expect(lines.filter((l) => l === 'hook_disposed hook_1')).to.have.length(1);
    expect(lines.filter((l) => l.startsWith('hook_received hook_1'))).to.have.length(1);
  });

  it('(f) defineHook({ schema }): a bad payload throws HookPayloadValidationError and writes nothing; a good one resumes', async () => {
    const token = tok('schema');
    const run = await start(validated, [token]);
    await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
    const before = await run.events();

    const err = await expectRejection<Error & { issues: unknown[] }>(
      approvalHook.resume(token, { approved: 'yes', note: '' } as unknown as { approved: boolean; note: string }),
      'HookPayloadValidationError',
    );
    expect(err.issues.length).to.be.at.least(2);
    expect(err.message).to.include('approved');
    expect((await run.events()).length).to.equal(before.length);
    expect(await getRun(run.runId).status).to.equal('running');

    const info: HookInfo = await approvalHook.resume(token, { approved: true, note: 'ok' });
    expect(info.runId).to.equal(run.runId);
    expect(await run.returnValue).to.deep.equal({ approved: true, note: 'ok' });
  });

  it('(g) getHookByToken returns the metadata passed to createHook', async () => {
    const token = tok('meta');
    const metadata = { orderId: 'o-77', amount: 12.5, tags: ['a', 'b'], due: new Date('2030-01-02T03:04:05.000Z') };
    const run = await start(withMetadata, [token, metadata]);
    const info = await waitFor(() => getHookByToken<typeof metadata>(token), { what: 'the hook to be registered' });
    expect(info.runId).to.equal(run.runId);
    expect(info.token).to.equal(token);
    expect(info.hookId).to.equal('hook_1');
    expect(info.isWebhook).to.equal(false);
    expect(info.createdAt).to.be.instanceOf(Date);
    expect(info.metadata).to.deep.equal(metadata);
    expect(info.metadata!.due).to.be.instanceOf(Date);

    const resumed = await resumeHook(token, 'done');
    expect(resumed.metadata).to.deep.equal(metadata);
    expect(await run.returnValue).to.equal('done');
    await expectRejection(getHookByToken(token), 'HookNotFoundError');
  });

  it('(h) Promise.all([hook, hook]) claims two distinct payloads, FIFO (no payload delivered twice)', async () => {
    const token = tok('pair');
    const run = await start(pair, [token]);
    await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
    await resumeHook(token, 'first');
    await resumeHook(token, 'second');
    expect(await run.returnValue).to.deep.equal(['first', 'second']);
  });
});
