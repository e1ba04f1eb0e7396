/**
 * Nesting depth (issue 9): values deeper than the limit are refused with a
 * SerializationError by an iterative check — never a RangeError, whatever the
 * depth — and nothing is written; values at the limit round-trip, even when
 * serialised from a call stack that is already three quarters used.
 */
import { expect } from 'chai';
import { defineWorkflow, registerSerializableClass } from 'workflow-redis';
import {
  closeWorkflowClient,
  configure,
  DEFAULT_MAX_PAYLOAD_DEPTH,
  getRun,
  InvalidArgumentError,
  MAX_PAYLOAD_DEPTH_LIMIT,
  resumeHook,
  SerializationError,
  start,
} from 'workflow-redis/api';
import type { Store } from '../../lib/redis/store.js';
import { deserialize, INTERNAL_MAX_DEPTH, serialize } from '../../lib/serialization/codec.js';
import { claimHook, createTestRun, expectNoWrites, foundationSuite, receivedPayloads } from './helpers.js';

/** `depth` arrays around `leaf`. */
function arrays(depth: number, leaf: unknown = 1): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** `depth` objects around `leaf`, keyed with a marker (key names must never show in messages). */
function objects(depth: number, leaf: unknown = 'SECRETVALUE123'): unknown {
  let v = leaf;
  for (let i = 0; i < depth; i++) v = { [`SECRETKEY123_${i}`]: v, n: i };
  return v;
}

class Box {
  constructor(readonly inner: unknown = null) {}
}
registerSerializableClass(Box, 'test.payload-depth.Box');

/** The smallest depth limit `value` passes: its depth as the codec defines it. */
function depthOf(value: unknown): number {
  for (let max = 1; max <= INTERNAL_MAX_DEPTH; max++) {
    try {
      serialize(value, 'value', { maxDepth: max });
      return max;
    } catch (err) {
      if (!SerializationError.is(err) || (err as SerializationError).maxDepth !== max) throw err;
    }
  }
  throw new Error('deeper than the internal limit');
}

/** Calls `fn` at the bottom of `n` frames of recursion. */
function burn(n: number, fn: () => void): number {
  if (n === 0) {
    fn();
    return 0;
  }
  return burn(n - 1, fn) + 1;
}

/** How many frames of {@link burn} this thread's stack holds. */
function stackFrames(): number {
  let lo = 100;
  let hi = 1_000_000;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    try {
      burn(mid, () => undefined);
      lo = mid;
    } catch {
      hi = mid - 1;
    }
  }
  return lo;
}

const echo = defineWorkflow('test.payload-depth.echo', async (...args: unknown[]) => args);

describe('payload depth: typed errors, nothing written, no stack overflow', function () {
  const suite = foundationSuite('depth');
  let store: Store;
  let runId: string;
  let token: string;

  async function setUp(cfg: { maxPayloadDepth?: number } = {}): Promise<void> {
    store = await suite.freshStore(cfg);
    runId = await createTestRun(store);
    token = `depth:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
  }

  /** Asserts `fn` rejects with SerializationError for the depth limit `max`, writing nothing. */
  async function expectTooDeep(max: number, fn: () => Promise<unknown>): Promise<SerializationError> {
    const err = (await expectNoWrites(suite.admin, fn)) as SerializationError;
    expect(err, 'expected a SerializationError').to.be.instanceOf(SerializationError);
    expect(err.maxDepth).to.equal(max);
    expect(err.message).to.include(`nested more than ${max} levels deep`);
    expect(err.message).to.include(err.path);
    expect(err.message).to.not.include('SECRETKEY123');
    expect(err.message).to.not.include('SECRETVALUE123');
    expect(err.message).to.not.include(token);
    return err;
  }

  afterEach(async function () {
    await closeWorkflowClient();
  });

  describe('the depth rule', function () {
    const cases: [string, unknown, number][] = [
      ['[]', [], 1],
      ['{}', {}, 1],
      ['[1, [2], "x"]', [1, [2], 'x'], 2],
      ['3 arrays around a Date', arrays(3, new Date(0)), 3],
      ['a BigInt, a RegExp, a URL and bytes in an array', [1n, /x/, new URL('https://e.x'), new Uint8Array([1])], 1],
      ['an empty Map (stored as a list of pairs)', new Map(), 2],
      ['a Map of a scalar', new Map([['k', 1]]), 2],
      ['a Map whose key is an array', new Map([[[1], 1]]), 3],
      ['a Map of a Map of an object', new Map([['k', new Map([['k', {}]])]]), 5],
      ['a Set of a Set of an array', new Set([new Set([[1]])]), 3],
      ['an Error with an array as its cause', new Error('x', { cause: [1] }), 2],
      ['an Error without a cause', new Error('x'), 1],
      ['3 registered class instances', new Box(new Box(new Box())), 3],
    ];
    for (const [label, value, depth] of cases) {
      it(`${label}: depth ${depth}`, function () {
        expect(depthOf(value)).to.equal(depth);
      });
    }

    it('a scalar is depth 0: it passes the smallest limit', function () {
      for (const v of [1, 'x', null, undefined, true, 1n, new Date(0)]) expect(() => serialize(v, 'v', { maxDepth: 1 })).to.not.throw();
    });

    it('a value shared in several places counts where it is deepest; a circular reference counts 0', function () {
      const shared = arrays(10);
      expect(depthOf([shared, arrays(5, shared)])).to.equal(1 + 5 + 10);
      const loop: { self?: unknown; list: unknown[] } = { list: [] };
      loop.self = loop;
      loop.list.push(loop);
      expect(depthOf(loop)).to.equal(2);
      const back = deserialize<typeof loop>(serialize(loop));
      expect(back.self).to.equal(back);
      expect(back.list[0]).to.equal(back);
    });

    it('an argument list counts each argument, not the list', function () {
      expect(() => serialize([arrays(5), arrays(5)], 'args', { maxDepth: 5, argumentList: true })).to.not.throw();
      const err = (() => {
        try {
          serialize([1, arrays(6)], 'args', { maxDepth: 5, argumentList: true });
        } catch (e) {
          return e as SerializationError;
        }
      })();
      expect(err?.maxDepth).to.equal(5);
      expect(err?.path).to.equal('args → array index 1 → array index 0 (×5)');
    });
  });

  describe('resumeHook', function () {
    it(`exactly the default limit (${DEFAULT_MAX_PAYLOAD_DEPTH}) round-trips; one level more is refused, nothing written`, async function () {
      await setUp();
      expect(DEFAULT_MAX_PAYLOAD_DEPTH).to.equal(128);
      const err = await expectTooDeep(128, () => resumeHook(token, objects(129)));
      expect(err.path).to.equal('payload → object property #1 (×128)');
      const fits = objects(128);
      expect((await resumeHook(token, fits)).runId).to.equal(runId);
      expect(await receivedPayloads(store, runId)).to.deep.equal([fits]);
    });

    it(`the largest setting (${MAX_PAYLOAD_DEPTH_LIMIT}) applies, Map and Set levels included`, async function () {
      await setUp({ maxPayloadDepth: MAX_PAYLOAD_DEPTH_LIMIT });
      // 100 Maps (200 levels) around 56 Sets: exactly 256.
      let fits: unknown = 'leaf';
      for (let i = 0; i < 56; i++) fits = new Set([fits]);
      for (let i = 0; i < 100; i++) fits = new Map([[`SECRETKEY123_${i}`, fits]]);
      await expectTooDeep(256, () => resumeHook(token, [fits]));
      await resumeHook(token, fits);
      expect(await receivedPayloads(store, runId)).to.deep.equal([fits]);
    });

    it('a smaller limit set with configure({ maxPayloadDepth }) applies', async function () {
      await setUp({ maxPayloadDepth: 3 });
      await expectTooDeep(3, () => resumeHook(token, [new Box(new Box([]))]));
      await expectTooDeep(3, () => resumeHook(token, { a: new Map([['SECRETKEY123', [1]]]) }));
      await resumeHook(token, [new Box([new Date(1)])]);
      const [got] = (await receivedPayloads(store, runId)) as [[Box]];
      expect(got[0]).to.be.instanceOf(Box);
      expect(got[0].inner).to.deep.equal([new Date(1)]);
    });

    it('a payload nested 100,000 deep is refused with SerializationError, not a RangeError', async function () {
      await setUp();
      for (const deep of [arrays(100_000), objects(100_000)]) {
        const err = await expectTooDeep(128, () => resumeHook(token, deep));
        // The path folds repeats: the message stays short.
        expect(err.message.length).to.be.below(600);
      }
      let map: unknown = 1;
      for (let i = 0; i < 100_000; i++) map = new Map([[i, map]]);
      await expectTooDeep(128, () => resumeHook(token, map));
    });
  });

  describe('start()', function () {
    it('each argument may be as deep as the limit; one level more is refused, nothing written', async function () {
      await setUp();
      const err = await expectTooDeep(128, () => start(echo, ['x', objects(129)]));
      expect(err.path).to.equal('workflow arguments → array index 1 → object property #1 (×128)');
      await expectTooDeep(128, () => start(echo, [arrays(100_000)]));
      const args = [objects(128), arrays(128, new Date(5))];
      const run = await start(echo, args);
      expect((await getRun(run.runId).info()).input).to.deep.equal(args);
    });
  });

  describe('configure({ maxPayloadDepth })', function () {
    it(`accepts an integer from 1 to ${MAX_PAYLOAD_DEPTH_LIMIT}, rejects anything else with InvalidArgumentError`, function () {
      for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, MAX_PAYLOAD_DEPTH_LIMIT + 1, '10', null]) {
        expect(() => configure({ connection: suite.redis.url, maxPayloadDepth: bad as number }), String(bad))
          .to.throw(InvalidArgumentError)
          .with.property('message')
          .that.includes('maxPayloadDepth must be an integer from 1 to 256');
      }
      for (const ok of [1, 64, MAX_PAYLOAD_DEPTH_LIMIT]) expect(() => configure({ connection: suite.redis.url, maxPayloadDepth: ok })).to.not.throw();
    });
  });

  describe('stack margin', function () {
    it(`values at the engine's limit (${INTERNAL_MAX_DEPTH}) serialise and read back with three quarters of the stack already used`, function () {
      expect(INTERNAL_MAX_DEPTH).to.equal(MAX_PAYLOAD_DEPTH_LIMIT + 32);
      let maps: unknown = new Date(0);
      for (let i = 0; i < INTERNAL_MAX_DEPTH / 2; i++) maps = new Map([[i, maps]]);
      let boxes: unknown = 1n;
      for (let i = 0; i < INTERNAL_MAX_DEPTH; i++) boxes = new Box(boxes);
      // Each the slowest shape for superjson's recursive walker, and a plain one (JSON.stringify).
      const values = [maps, boxes, arrays(INTERNAL_MAX_DEPTH, new Date(0)), objects(INTERNAL_MAX_DEPTH)];
      for (const v of values) expect(depthOf(v)).to.equal(INTERNAL_MAX_DEPTH);
      const frames = stackFrames();
      for (const v of values) {
        let back: unknown;
        // As a step result ({ result } wrapper) and as a step argument (in the argument list).
        burn(Math.floor(frames * 0.75), () => {
          back = deserialize<{ result: unknown }>(serialize(v, 'result', { wrapKey: 'result' })).result;
        });
        expect(back).to.deep.equal(v);
        burn(Math.floor(frames * 0.75), () => {
          back = deserialize<unknown[]>(serialize([v], 'args', { argumentList: true }))[0];
        });
        expect(back).to.deep.equal(v);
      }
    });

    it('the check itself never recurses: 100,000 levels are refused from a nearly full stack', function () {
      const frames = stackFrames();
      let err: unknown;
      burn(Math.floor(frames * 0.9), () => {
        try {
          serialize(arrays(100_000), 'value');
        } catch (e) {
          err = e;
        }
      });
      expect(err).to.be.instanceOf(SerializationError);
      expect((err as SerializationError).maxDepth).to.equal(INTERNAL_MAX_DEPTH);
    });
  });
});
