/**
 * The worker's lifecycle lines (issue 10): run started / completed / failed /
 * cancelled and step retrying / failed, each once per transition — with the
 * commit window, batched commits, queued retries and replays — with the
 * error's name and message, and never a token, a payload or a payload key
 * name (markers in all three are grepped for in every captured line).
 */
import { expect } from 'chai';
import { createHook, defineStep, defineWorkflow, FatalError, getStepMetadata, RetryableError } from 'workflow-redis';
import { closeWorkflowClient, configure, getHookByToken, resumeHook, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { deferred, expectRejection, waitForEvent, type Deferred } from './_util.js';

const N = 'engine-lifecycle-log';
/** Markers that must never reach a log line: in payloads, as a payload key, in tokens. */
const PAYLOAD = 'PAYLOAD-MARKER-5e1c';
const KEY = 'KEYNAME-MARKER-a77d';
const TOKEN = 'TOKEN-MARKER-03b9';

interface Line {
  level: string;
  msg: string;
  runId?: string;
  stepName?: string;
  attempt?: number;
  error?: { name: string; message: string };
  [k: string]: unknown;
}

const flaky = defineStep(`${N}.flaky`, async (input: Record<string, string>) => {
  const { attempt } = getStepMetadata();
  if (attempt < 3) throw new RetryableError(`flaky attempt ${attempt} failed`, { retryAfter: 50 });
  return { echoed: input, [KEY]: PAYLOAD };
});
const declined = defineStep(`${N}.declined`, async (input: Record<string, string>) => {
  void input;
  throw new FatalError('card declined');
});
const gates = new Map<string, Deferred>();
const gated = defineStep(`${N}.gated`, async (key: string) => {
  await gates.get(key)!.promise;
  return { [KEY]: PAYLOAD };
});
const add = defineStep(`${N}.add`, async (a: number, b: number) => a + b);

/** A hook (token with a marker), its payload (with a marker), then a step failing twice. */
const approval = defineWorkflow(`${N}.approval`, async (input: Record<string, string>, token: string) => {
  const payload = await createHook<Record<string, string>>({ token });
  const r = await flaky(input);
  return { r, payload };
});
const failing = defineWorkflow(`${N}.failing`, async (input: Record<string, string>) => declined(input));
const cancellable = defineWorkflow(`${N}.cancellable`, async (key: string) => {
  await gated(key);
  return add(1, 2);
});
/** Which branch each run's code takes: flipping it between wake-ups makes the code diverge from its log. */
const branch = new Map<string, 'a' | 'b'>();
const diverging = defineWorkflow(`${N}.diverging`, async (token: string) => {
  if (branch.get(token) === 'b') await add(2, 2);
  else await gated(token);
  return createHook<number>({ token });
});
const threeSteps = defineWorkflow(`${N}.three`, async (n: number, token: string) => {
  const a = await add(n, 1);
  const b = await add(a, 1);
  const got = await createHook<Record<string, string>>({ token });
  return { c: await add(b, 1), got };
});

const workflows = [approval, failing, cancellable, diverging, threeSteps];
const lifecycleMsgs = new Set(['run started', 'run completed', 'run failed', 'run cancelled', 'step retrying', 'step failed']);

describe('engine: lifecycle log lines', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker | undefined;
  let lines: Line[];
  const uid = () => Math.random().toString(36).slice(2, 10);
  const ofRun = (runId: string) => lines.filter((l) => l.runId === runId && lifecycleMsgs.has(l.msg));
  const waitForLine = (runId: string, msg: string) =>
    waitFor(() => lines.find((l) => l.runId === runId && l.msg === msg), { what: `the "${msg}" line of ${runId}` });

  const newWorker = async (opts: Partial<Parameters<typeof createWorker>[0]> = {}) => {
    const prefix = uniquePrefix('lifecycle');
    configure({ connection: redis.url, prefix });
    worker = await createWorker({
      workflows,
      connection: redis.url,
      prefix,
      lockDurationMs: 5000,
      logLevel: 'debug',
      logger: (level, msg, fields) => lines.push({ level, msg, ...fields }),
      ...opts,
    });
    return worker;
  };

  before(async () => {
    redis = await startRedis();
  });
  beforeEach(() => {
    lines = [];
  });
  afterEach(async () => {
    for (const g of gates.values()) g.resolve();
    await worker?.close();
    worker = undefined;
    await closeWorkflowClient();
    const text = JSON.stringify(lines);
    for (const marker of [PAYLOAD, KEY, TOKEN]) expect(text, `a log line carries ${marker}`).not.to.include(marker);
  });
  after(async () => {
    await redis?.stop();
  });

  it('a run that waits on a hook and retries a step twice (inline, then on the step queue): started, 2 retries, completed', async () => {
    await newWorker();
    const token = `${TOKEN}:${uid()}`;
    const run = await start(approval, [{ [KEY]: PAYLOAD }, token]);
    await waitFor(() => getHookByToken(token), { what: 'the hook' });
    await resumeHook(token, { [KEY]: PAYLOAD });
    await run.returnValue;
    await waitForLine(run.runId, 'run completed');

    const mine = ofRun(run.runId);
    expect(mine.map((l) => `${l.level} ${l.msg}`)).to.deep.equal([
      'info run started',
      'info step retrying',
      'info step retrying',
      'info run completed',
    ]);
    const retries = mine.filter((l) => l.msg === 'step retrying');
    expect(retries.map((l) => [l.stepName, l.attempt, l.error?.name, l.error?.message])).to.deep.equal([
      [`${N}.flaky`, 1, 'RetryableError', 'flaky attempt 1 failed'],
      [`${N}.flaky`, 2, 'RetryableError', 'flaky attempt 2 failed'],
    ]);
    expect(retries[0]!.retryAt).to.be.a('string');
    const done = mine[3]!;
    expect(done).to.include({ workflowName: `${N}.approval`, workerId: worker!.id });
    expect(done.durationMs).to.be.a('number');
  });

  it('a step that throws FatalError: step failed and run failed, at warn, with the error name and message', async () => {
    await newWorker();
    const run = await start(failing, [{ [KEY]: PAYLOAD }]);
    await expectRejection(run.returnValue, 'WorkflowRunFailedError');
    await waitForLine(run.runId, 'run failed');
    const mine = ofRun(run.runId);
    expect(mine.map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['info run started', 'warn step failed', 'warn run failed']);
    expect(mine[1]).to.deep.include({ stepName: `${N}.declined`, attempt: 1, error: { name: 'FatalError', message: 'card declined' } });
    expect(mine[2]!.error).to.deep.equal({ name: 'FatalError', message: 'card declined' });
  });

  it('code that diverges from its log: run failed with NondeterminismError and its message', async () => {
    await newWorker({ cacheSize: 0 }); // every wake-up replays from the log
    const token = `${TOKEN}:${uid()}`;
    gates.set(token, deferred());
    gates.get(token)!.resolve();
    const run = await start(diverging, [token]);
    await waitFor(() => getHookByToken(token), { what: 'the hook' });
    branch.set(token, 'b');
    await resumeHook(token, 1);
    await expectRejection(run.returnValue, 'WorkflowRunFailedError');
    const failed = await waitForLine(run.runId, 'run failed');
    expect(failed!.level).to.equal('warn');
    expect(failed!.error!.name).to.equal('NondeterminismError');
    expect(failed!.error!.message).to.include(`${N}.gated`).and.include(`${N}.add`);
    expect(ofRun(run.runId).map((l) => l.msg)).to.deep.equal(['run started', 'run failed']);
  });

  it('a run cancelled while its step runs: one "run cancelled" line when the worker finds out', async () => {
    await newWorker();
    const key = uid();
    gates.set(key, deferred());
    const run = await start(cancellable, [key]);
    await waitForEvent(run, (e) => e.type === 'step_started', 'the step to start');
    await run.cancel();
    gates.get(key)!.resolve(); // its result is refused: the run was cancelled meanwhile
    await waitForLine(run.runId, 'run cancelled');
    expect(ofRun(run.runId).map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['info run started', 'info run cancelled']);
    // Any later observer (another worker, a late step result) is told it was logged already.
    expect(await worker!.store.noteCancelled(run.runId)).to.equal(false);
  });

  it('20 runs at once (commit window, batched commits, a hook each): one started and one completed line per run', async () => {
    await newWorker({ concurrency: 20 });
    const tokens = Array.from({ length: 20 }, () => `${TOKEN}:${uid()}`);
    const runs = await Promise.all(tokens.map((t, i) => start(threeSteps, [i, t])));
    await Promise.all(tokens.map((t) => waitFor(() => getHookByToken(t), { what: `hook ${t}` })));
    await Promise.all(tokens.map((t) => resumeHook(t, { [KEY]: PAYLOAD })));
    await Promise.all(runs.map((r) => r.returnValue));
    await Promise.all(runs.map((r) => waitForLine(r.runId, 'run completed')));
    for (const r of runs) {
      expect(ofRun(r.runId).map((l) => l.msg), r.runId).to.deep.equal(['run started', 'run completed']);
    }
    // Replays at debug: each wake-up, warm or cold, with what it fed and how long it took.
    const replays = lines.filter((l) => l.msg === 'replay');
    expect(replays.length).to.be.at.least(40);
    for (const l of replays) {
      expect(l.level).to.equal('debug');
      expect(l.warm).to.be.a('boolean');
      expect(l.eventsFed).to.be.a('number');
      expect(l.ms).to.be.a('number');
    }
    expect(replays.some((l) => l.warm === true), 'a warm replay (after the hook)').to.equal(true);
    expect(replays.some((l) => l.warm === false), 'a cold one (the first)').to.equal(true);
  });
});
