/**
 * Nesting depth inside the engine (issue 9): values workflow code and steps
 * produce are held to the engine's fixed limit (INTERNAL_MAX_DEPTH). Too deep
 * surfaces as a SerializationError — a step argument in workflow code, a step
 * result as a failed attempt (retried as a thrown error would be), a return value as a failed run — never
 * as a RangeError or a stuck worker; and a payload at the largest edge limit
 * can be wrapped, passed to a step and returned.
 */
import { expect } from 'chai';
import { createHook, defineStep, defineWorkflow } from 'workflow-redis';
import { closeWorkflowClient, configure, MAX_PAYLOAD_DEPTH_LIMIT, start, WorkflowRunFailedError } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { INTERNAL_MAX_DEPTH } from '../../lib/serialization/codec.js';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { eventLines, expectRejection, resumeWhenReady } from './_util.js';

const N = 'engine-depth';

/** `depth` objects around a leaf, keyed with a marker that must never show in messages or logs. */
function objects(depth: number): unknown {
  let v: unknown = 'SECRETVALUE123';
  for (let i = 0; i < depth; i++) v = { SECRETKEY123: v };
  return v;
}

/** Attempts of the deep-result step, per key. */
const attempts = new Map<string, number>();

/** Returns a value `depth` deep: over the engine's limit when asked to. */
const deepResult = defineStep(
  `${N}.deep-result`,
  async (key: string, depth: number) => {
    attempts.set(key, (attempts.get(key) ?? 0) + 1);
    return objects(depth);
  },
  { maxRetries: 1 },
);
const wrap = defineStep(`${N}.wrap`, async (arg: { data: unknown }) => ({ data: arg.data }));
const identity = defineStep(`${N}.identity`, async (v: unknown) => v);

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; name: string; message: string }> {
  try {
    return { ok: true, value: await p };
  } catch (err) {
    return { ok: false, name: (err as Error).name, message: (err as Error).message };
  }
}

const catchesDeepResult = defineWorkflow(`${N}.catches-deep-result`, async (key: string, depth: number) => {
  const r = await settle(deepResult(key, depth));
  return r.ok ? { ok: true } : r;
});
const deepResultUncaught = defineWorkflow(`${N}.deep-result-uncaught`, async (key: string, depth: number) => {
  await deepResult(key, depth);
  return 'unreachable';
});
const deepArgument = defineWorkflow(`${N}.deep-argument`, async (depth: number) => {
  // Built in workflow code: no edge has seen it.
  const r = await settle(identity(objects(depth)));
  return r.ok ? { ok: true } : r;
});
const deepReturn = defineWorkflow(`${N}.deep-return`, async (depth: number) => objects(depth));
const headroom = defineWorkflow(`${N}.headroom`, async (token: string) => {
  const payload = await createHook<unknown>({ token });
  // A payload at the edge limit, one level deeper in the step's argument, returned two levels deeper.
  const wrapped = await wrap({ data: payload });
  return { echoed: wrapped };
});
const plain = defineWorkflow(`${N}.plain`, async (n: number) => identity(n + 1));

describe('engine: nesting depth of step arguments, results and outputs', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker;
  const logs: string[] = [];
  const prefix = uniquePrefix('eng-depth');
  const key = (label: string) => `${label}-${Math.random().toString(36).slice(2, 10)}`;

  before(async () => {
    redis = await startRedis();
    // The edge at its largest setting; the worker does not share this process's configuration to judge depth.
    configure({ connection: redis.url, prefix, maxPayloadDepth: MAX_PAYLOAD_DEPTH_LIMIT });
    worker = await createWorker({
      workflows: [catchesDeepResult, deepResultUncaught, deepArgument, deepReturn, headroom, plain],
      connection: redis.url,
      prefix,
      logger: (level, msg, fields) => logs.push(JSON.stringify({ level, msg, ...fields })),
    });
  });
  after(async () => {
    await worker?.close();
    await closeWorkflowClient();
    await redis?.stop();
  });

  /** The worker still runs other workflows. */
  async function expectWorkerAlive(): Promise<void> {
    expect(await (await start(plain, [41])).returnValue).to.equal(42);
  }

  /** Asserts the worker's log never carried a key name or value of the deep values. */
  function expectCleanLogs(): void {
    for (const line of logs) {
      expect(line).to.not.include('SECRETKEY123');
      expect(line).to.not.include('SECRETVALUE123');
      expect(line).to.not.match(/RangeError|call stack/i);
    }
  }

  for (const depth of [INTERNAL_MAX_DEPTH + 1, 100_000]) {
    it(`a step returning a value ${depth} deep fails its attempts (retry rules apply); the workflow can catch it`, async () => {
      const k = key('caught');
      const run = await start(catchesDeepResult, [k, depth]);
      const out = (await run.returnValue) as { ok: false; name: string; message: string };
      expect(out.ok).to.equal(false);
      expect(out.message).to.include(`Cannot serialise the result of step "${N}.deep-result"`);
      expect(out.message).to.include(`nested more than ${INTERNAL_MAX_DEPTH} levels deep`);
      expect(out.message).to.not.include('SECRETKEY123');
      expect(attempts.get(k)).to.equal(2);
      const lines = await eventLines(run);
      expect(lines).to.include('step_retrying step_1');
      expect(lines).to.include('step_failed step_1');
      expect(lines).to.not.include('step_completed step_1');
      await expectWorkerAlive();
      expectCleanLogs();
    });
  }

  it('uncaught, the too-deep step result fails the run with a clear error', async () => {
    const k = key('uncaught');
    const run = await start(deepResultUncaught, [k, INTERNAL_MAX_DEPTH + 1]);
    const err = await expectRejection<WorkflowRunFailedError>(run.returnValue, 'WorkflowRunFailedError');
    expect(err.error.message).to.include(`nested more than ${INTERNAL_MAX_DEPTH} levels deep`);
    expect(attempts.get(k)).to.equal(2);
    expect((await run.info()).status).to.equal('failed');
    await expectWorkerAlive();
  });

  for (const depth of [INTERNAL_MAX_DEPTH + 1, 100_000]) {
    it(`a step argument ${depth} deep throws SerializationError into workflow code; the step is never created`, async () => {
      const run = await start(deepArgument, [depth]);
      const out = (await run.returnValue) as { ok: false; name: string; message: string };
      expect(out.ok).to.equal(false);
      expect(out.name).to.equal('SerializationError');
      expect(out.message).to.include(`Cannot serialise arguments of step "${N}.identity" → array index 0 → object property #1`);
      expect(out.message).to.include(`nested more than ${INTERNAL_MAX_DEPTH} levels deep`);
      expect(await eventLines(run)).to.not.include('step_created step_1');
      await expectWorkerAlive();
    });

    it(`a workflow returning a value ${depth} deep fails the run with SerializationError`, async () => {
      const run = await start(deepReturn, [depth]);
      const err = await expectRejection<WorkflowRunFailedError>(run.returnValue, 'WorkflowRunFailedError');
      expect(err.error.name).to.equal('SerializationError');
      expect(err.error.message).to.include('Cannot serialise the workflow return value → object property #1');
      expect(err.error.message).to.not.include('SECRETKEY123');
      expect((await run.info()).status).to.equal('failed');
      await expectWorkerAlive();
      expectCleanLogs();
    });
  }

  it(`exactly the engine's limit round-trips through a step argument, a step result and the output`, async () => {
    const k = key('at-limit');
    const run = await start(catchesDeepResult, [k, INTERNAL_MAX_DEPTH]);
    expect(await run.returnValue).to.deep.equal({ ok: true });
    const viaArg = await start(deepArgument, [INTERNAL_MAX_DEPTH]);
    expect(await viaArg.returnValue).to.deep.equal({ ok: true });
    const returned = await start(deepReturn, [INTERNAL_MAX_DEPTH]);
    expect(await returned.returnValue).to.deep.equal(objects(INTERNAL_MAX_DEPTH));
  });

  it(`a payload at the largest edge limit (${MAX_PAYLOAD_DEPTH_LIMIT}) can be wrapped, passed to a step and returned`, async () => {
    const token = key(`${N}:headroom`);
    const run = await start(headroom, [token]);
    const payload = objects(MAX_PAYLOAD_DEPTH_LIMIT);
    await resumeWhenReady(token, payload);
    expect(await run.returnValue).to.deep.equal({ echoed: { data: payload } });
    expectCleanLogs();
  });
});
