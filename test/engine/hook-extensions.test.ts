/**
 * Hook timeouts, hooks claimed by start(), fan-out by tag and the runtime
 * calls refused in workflow code, end to end with an in-process worker.
 */
import { expect } from 'chai';
import { createHook, createWebhook, defineHook, defineStep, defineWorkflow, HookTimeoutError } from 'workflow-redis';
import {
  closeWorkflowClient,
  configure,
  getHookByToken,
  getRun,
  resumeHook,
  resumeHooks,
  resumeWebhook,
  start,
} from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { getStore } from '../../lib/runtime/config.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { eventLines, expectRejection, resumeWhenReady } from './_util.js';

const N = 'engine-hook-ext';

const timeoutOnly = defineWorkflow(`${N}.timeout`, async (token: string, timeout: string) => {
  const t0 = Date.now();
  try {
    return { got: await createHook<string>({ token, timeout }) };
  } catch (err) {
    return { error: (err as Error).name, token: (err as HookTimeoutError).token, isTimeout: HookTimeoutError.is(err), waitedMs: Date.now() - t0 };
  }
});

const collectThenTimeout = defineWorkflow(`${N}.collect-timeout`, async (token: string) => {
  const got: string[] = [];
  try {
    for await (const p of createHook<string>({ token, timeout: '3s' })) got.push(p);
  } catch (err) {
    got.push((err as Error).name);
  }
  return got;
});

const typed = defineHook<{ n: number }>();
const typedTimeout = defineWorkflow(`${N}.typed-timeout`, async (token: string) => {
  const results: string[] = [];
  for (const h of [typed.create({ token, timeout: 300 }), createWebhook({ timeout: new Date(Date.now() + 300) })]) {
    try {
      await h;
    } catch (err) {
      results.push((err as Error).name);
    }
  }
  return results;
});

const claimed = defineWorkflow(`${N}.claimed`, async (token: string, count: number) => {
  const hook = createHook<{ i: number }>({ token, metadata: { adopted: true } });
  const got: number[] = [];
  for await (const p of hook) {
    got.push(p.i);
    if (got.length === count) break;
  }
  return got;
});

const tagged = defineWorkflow(`${N}.tagged`, async (tag: string) => {
  return await createHook<unknown>({ tags: [tag] });
});

const badTags = defineWorkflow(`${N}.bad-tags`, async () => {
  const out: string[] = [];
  for (const tags of [Array.from({ length: 11 }, (_, i) => `t${i}`), ['a', 'a'], [''], ['x'.repeat(129)]]) {
    try {
      createHook({ tags });
    } catch (err) {
      out.push((err as Error).name);
    }
  }
  return out;
});

const startFromStep = defineStep(`${N}.start-child`, async () => (await start(timeoutOnly, ['child-token-unused', '10ms'])).runId);
const refusals = defineWorkflow(`${N}.refusals`, async (token: string, victimRunId: string) => {
  const names: Record<string, string> = {};
  const attempt = async (label: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
      names[label] = 'resolved';
    } catch (err) {
      names[label] = `${(err as Error).name}: ${(err as Error).message}`;
    }
  };
  await attempt('start', () => start(timeoutOnly, [token, '1s']));
  await attempt('resumeHook', () => resumeHook(token, 'x'));
  await attempt('resumeHooks', () => resumeHooks({ tag: 'refusal-tag' }, 'x'));
  await attempt('resumeWebhook', () => resumeWebhook(token, new Request('http://x/')));
  await attempt('cancel', () => getRun(victimRunId).cancel());
  await attempt('defineHook.resume', () => typed.resume(token, { n: 1 }));
  const child = await startFromStep();
  return { names, child };
});

describe('engine: hook timeouts, start with a hook, tags, refusals in workflow code', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  let worker: WorkflowWorker | undefined;
  const prefix = uniquePrefix('eng-hook-ext');
  const workflows = [timeoutOnly, collectThenTimeout, typedTimeout, claimed, tagged, badTags, refusals];
  const tok = (label: string) => `${N}:${label}:${Math.random().toString(36).slice(2, 10)}`;
  const startWorker = async () => {
    worker = await createWorker({ workflows, connection: redis.url, prefix, lockDurationMs: 5000, concurrency: 100 });
  };

  before(async () => {
    redis = await startRedis();
    configure({ connection: redis.url, prefix });
  });
  after(async () => {
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it("start with { hook }: 100 resumes sent before any worker runs reach the workflow's for await, in order", async () => {
    const token = tok('claim');
    const run = await start(claimed, [token, 100], { hook: { token, metadata: { from: 'start' } } });
    expect(await getHookByToken(token)).to.include({ runId: run.runId, hookId: 'hook_0' });
    for (let i = 0; i < 100; i++) await resumeHook(token, { i });
    await startWorker();
    expect(await run.returnValue).to.deep.equal(Array.from({ length: 100 }, (_, i) => i));
    const lines = await eventLines(run);
    expect(lines.filter((l) => l === 'hook_received hook_0')).to.have.length(100);
    // (No hook_adopted: the run received all it waited for and ended in the same replay.)
    expect(lines[lines.length - 1]).to.equal('run_completed');
    await expectRejection(resumeHook(token, { i: 100 }), 'HookNotFoundError');
  });

  it('start with { hook } adopted with a timeout: hook_adopted recorded, the claim times out like any hook', async () => {
    const token = tok('claim-to');
    const run = await start(timeoutOnly, [token, '500ms'], { hook: { token } });
    const out = (await run.returnValue) as { error: string };
    expect(out.error).to.equal('HookTimeoutError');
    const lines = await eventLines(run);
    expect(lines.indexOf('hook_adopted hook_0')).to.be.lessThan(lines.indexOf('hook_timed_out hook_0'));
    await expectRejection(getHookByToken(token), 'HookNotFoundError');
  });

  it("timeout '2s' with no resume: HookTimeoutError after >= 2 s, caught; the token is free right after", async () => {
    const token = tok('t2s');
    const run = await start(timeoutOnly, [token, '2s']);
    await waitFor(() => getHookByToken(token), { what: 'the hook to be registered' });
    const t0 = Date.now();
    const out = (await run.returnValue) as { error: string; token: string; isTimeout: boolean; waitedMs: number };
    expect(out).to.include({ error: 'HookTimeoutError', token, isTimeout: true });
    expect(out.waitedMs).to.be.at.least(2000);
    expect(Date.now() - t0).to.be.at.least(1500);
    await expectRejection(getHookByToken(token), 'HookNotFoundError');
    const count = (await run.events()).length;
    await expectRejection(resumeHook(token, 'late'), 'HookNotFoundError');
    expect((await run.events()).length).to.equal(count);
    expect(await eventLines(run)).to.include('hook_timed_out hook_1');
    // Free for another hook.
    const again = await start(timeoutOnly, [token, '1h']);
    await resumeWhenReady(token, 'now');
    expect(await again.returnValue).to.deep.equal({ got: 'now' });
  });

  it('a hook that got 3 payloads before its timeout delivers all 3, then rejects', async () => {
    const token = tok('three');
    const run = await start(collectThenTimeout, [token]);
    await resumeWhenReady(token, 'a');
    await resumeHook(token, 'b');
    await resumeHook(token, 'c');
    expect(await run.returnValue).to.deep.equal(['a', 'b', 'c', 'HookTimeoutError']);
  });

  it('defineHook().create({ timeout }) and createWebhook({ timeout: Date }) time out too', async () => {
    const run = await start(typedTimeout, [tok('typed')]);
    expect(await run.returnValue).to.deep.equal(['HookTimeoutError', 'HookTimeoutError']);
  });

  it('fan-out: 500 runs on order:42 and 500 on order:43; resumeHooks({ tag: order:42 }) resumes exactly the 500, each once', async () => {
    const tag42 = tok('order:42');
    const tag43 = tok('order:43');
    const r42 = await Promise.all(Array.from({ length: 500 }, () => start(tagged, [tag42])));
    const r43 = await Promise.all(Array.from({ length: 500 }, () => start(tagged, [tag43])));
    const store = await getStore();
    await waitFor(async () => (await store.client.zcard(store.keys.hookTag(tag42))) === 500 && (await store.client.zcard(store.keys.hookTag(tag43))) === 500, {
      timeoutMs: 60_000,
      what: '1000 tagged hooks',
    });
    const resumed = await resumeHooks({ tag: tag42 }, { go: 42 });
    expect(resumed).to.have.length(500);
    expect(new Set(resumed.map((h) => h.runId))).to.deep.equal(new Set(r42.map((r) => r.runId)));
    expect(resumed.every((h) => h.tags?.[0] === tag42)).to.equal(true);
    const values = await Promise.all(r42.map((r) => r.returnValue));
    expect(values.every((v) => (v as { go: number }).go === 42)).to.equal(true);
    for (const r of r42.slice(0, 50)) expect((await eventLines(r)).filter((l) => l.startsWith('hook_received'))).to.have.length(1);
    const statuses = await Promise.all(r43.map((r) => r.status));
    expect(statuses.every((s) => s === 'running')).to.equal(true);
    for (const r of r43.slice(0, 50)) expect((await eventLines(r)).filter((l) => l.startsWith('hook_received'))).to.have.length(0);
    expect((await getHookByToken(resumed[0]!.token).catch((e: Error) => e.name))).to.equal('HookNotFoundError');
    const live = await getHookByToken((await store.client.zrange(store.keys.hookTag(tag43), "0", "0"))[0]!);
    expect(live.tags).to.deep.equal([tag43]);
  });

  it('createHook({ tags }) validates: more than 10, duplicates, empty, over 128 bytes', async () => {
    const run = await start(badTags, []);
    expect(await run.returnValue).to.deep.equal(Array(4).fill('InvalidArgumentError'));
  });

  it('start, resumeHook, resumeHooks, resumeWebhook, run.cancel in workflow code reject with UnavailableInWorkflowError; nothing is written', async () => {
    const victim = await start(tagged, ['refusal-tag']);
    await waitFor(async () => (await eventLines(victim)).some((l) => l.startsWith('hook_created')), { what: 'the victim hook' });
    const store = await getStore();
    const victimHook = (await store.client.zrange(store.keys.hookTag('refusal-tag'), "0", "0"))[0]!;
    const runsBefore = await store.client.zcard(store.keys.runsAll());
    const victimEvents = (await victim.events()).length;
    const run = await start(refusals, [victimHook, victim.runId]);
    const out = (await run.returnValue) as { names: Record<string, string>; child: string };
    for (const [call, result] of Object.entries(out.names)) {
      expect(result, call).to.match(/^UnavailableInWorkflowError: .*not available in workflow code.*Call it from a step/);
    }
    expect(Object.keys(out.names)).to.have.length(6);
    // Only this run and the one its step started were created; the victim got nothing.
    expect(await store.client.zcard(store.keys.runsAll())).to.equal(runsBefore + 2);
    expect((await getRun(out.child).info()).workflowName).to.equal(timeoutOnly.workflowName);
    expect((await victim.events()).length).to.equal(victimEvents);
    expect(await victim.status).to.equal('running');
  });
});
