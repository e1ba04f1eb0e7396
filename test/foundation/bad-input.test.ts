/**
 * ARCHITECTURE §7.7: bad input gets a typed error and writes nothing — checked against
 * a live hook, so a missing check would show up as a write. Plus the other
 * side: what superjson can carry round-trips exactly through the stream.
 */
import { expect } from 'chai';
import {
  configure,
  closeWorkflowClient,
  DEFAULT_MAX_PAYLOAD_BYTES,
  getHookByToken,
  InvalidArgumentError,
  PayloadTooLargeError,
  resumeHook,
  SerializationError } from 'workflow-redis/api';
import type { Store } from '../../lib/redis/store.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { foundationSuite, claimHook, createTestRun, eventsOfType, expectNoWrites, receivedPayloads } from './helpers.js';

/** The bytes of `{ payload }` once serialised, for a string payload of `n` ASCII characters. */
function serialisedSizeOfString(n: number): number {
  return Buffer.byteLength(serialize({ payload: 'x'.repeat(n) }), 'utf8');
}

class Unregistered {
  constructor(readonly x = 1) {}
}

describe('bad input: typed errors, nothing written', function () {
  let store: Store;
  let runId: string;
  let token: string;

  const suite = foundationSuite('bad');

  async function setUp(cfg: { maxPayloadBytes?: number } = {}): Promise<void> {
    store = await suite.freshStore(cfg);
    runId = await createTestRun(store);
    token = `live:${runId}`;
    expect((await claimHook(store, runId, token, { metadata: { owner: 'bad-input' } })).r).to.equal('ok');
  }

  /** Runs `fn`, asserts it rejected with `cls` (by name and class), that the stream and keyspace are unchanged. */
  async function expectTypedNoWrite<E extends Error>(
    cls: abstract new (...args: any[]) => E,
    fn: () => Promise<unknown>,
  ): Promise<E> {
    const count = await store.eventCount(runId);
    const err = await expectNoWrites(suite.admin, fn);
    expect(err, `expected ${cls.name}`).to.be.instanceOf(Error);
    expect((err as Error).name).to.equal(cls.name);
    expect(err).to.be.instanceOf(cls);
    expect(await store.eventCount(runId), 'stream length').to.equal(count);
    return err as E;
  }

  afterEach(async function () {
    await closeWorkflowClient();
  });

  describe('tokens', function () {
    beforeEach(() => setUp());

    const badTokens: [string, unknown][] = [
      ['an empty string', ''],
      ['a number', 42],
      ['undefined', undefined],
      ['null', null],
      ['an object', { token: 'x' }],
      ['an array', ['x']],
      ['a String object', new String('x')],
      ['257 ASCII bytes', 'x'.repeat(257)],
      ["'é' x 129 (258 UTF-8 bytes, 129 characters)", 'é'.repeat(129)],
    ];

    for (const [label, bad] of badTokens) {
      it(`resumeHook rejects ${label} with InvalidArgumentError`, async function () {
        const err = await expectTypedNoWrite(InvalidArgumentError, () => resumeHook(bad as string, { a: 1 }));
        expect(err.message).to.be.a('string').and.not.equal('');
      });

      it(`getHookByToken rejects ${label} with InvalidArgumentError`, async function () {
        await expectTypedNoWrite(InvalidArgumentError, () => getHookByToken(bad as string));
      });
    }

    it('an over-long token is refused before the lookup, even if a hook somehow holds it', async function () {
      const long = 'é'.repeat(129);
      expect((await claimHook(store, runId, long, { hookId: 'hook_long' })).r).to.equal('ok');
      await expectTypedNoWrite(InvalidArgumentError, () => resumeHook(long, { a: 1 }));
    });

    it('a token of exactly 256 UTF-8 bytes is accepted', async function () {
      const max = 'é'.repeat(128);
      expect(Buffer.byteLength(max)).to.equal(256);
      expect((await claimHook(store, runId, max, { hookId: 'hook_max' })).r).to.equal('ok');
      expect((await resumeHook(max, 'ok')).hookId).to.equal('hook_max');
      expect((await getHookByToken(max)).token).to.equal(max);
      expect(await receivedPayloads(store, runId)).to.deep.equal(['ok']);
    });
  });

  describe('payloads that superjson cannot round-trip', function () {
    beforeEach(() => setUp());

    const sym = Symbol('s');
    // Key names are user data: paths name positions and types instead. SECRETKEY123 marks keys that must not show.
    // [label, payload, path of the offending value, as SerializationError#path documents it]
    const badPayloads: [string, () => unknown, string][] = [
      ['a function', () => () => 1, 'payload'],
      ['a symbol', () => sym, 'payload'],
      [
        'a nested function',
        () => ({ SECRETKEY123: { items: [1, { SECRETKEY123cb: () => 2 }] } }),
        'payload → object property #1 (×2) → array index 1 → object property #1',
      ],
      ['a nested symbol', () => ({ ok: 1, SECRETKEY123: [{ b: Symbol.iterator }] }), 'payload → object property #2 → array index 0 → object property #1'],
      ['a function inside a Map', () => new Map<unknown, unknown>([['SECRETKEY123', 1], ['k', () => 1]]), 'payload → Map entry #2 value'],
      ['a function as a Map key', () => new Map([[() => 1, 'SECRETKEY123']]), 'payload → Map entry #1 key'],
      ['a symbol inside a Set', () => new Set([1, Symbol('x')]), 'payload → Set item #2'],
      ['a symbol-keyed property', () => ({ [Symbol('SECRETKEY123')]: 1, ok: true }), 'payload'],
      ['an unregistered class instance', () => ({ SECRETKEY123: new Unregistered() }), 'payload → object property #1'],
    ];

    for (const [label, make, path] of badPayloads) {
      it(`${label} → SerializationError, nothing written`, async function () {
        const err = await expectTypedNoWrite(SerializationError, () => resumeHook(token, make()));
        expect(err.path).to.equal(path);
        expect(err.message).to.include(err.path);
        // Error messages never carry the token, nor key names (or values) of the payload.
        expect(err.message).to.not.include(token);
        expect(err.message).to.not.include('SECRETKEY123');
      });
    }

    it("SerializationError#path is relative to the caller's payload (no internal wrapper segment)", async function () {
      const got: string[] = [];
      for (const [, make] of badPayloads) {
        const err = await expectTypedNoWrite(SerializationError, () => resumeHook(token, make()));
        got.push(err.path);
      }
      expect(got).to.deep.equal(badPayloads.map(([, , path]) => path));
    });
  });

  describe('payload size', function () {
    it(`over the default limit (${DEFAULT_MAX_PAYLOAD_BYTES} bytes) → PayloadTooLargeError`, async function () {
      await setUp();
      expect(DEFAULT_MAX_PAYLOAD_BYTES).to.equal(1024 * 1024);
      const err = await expectTypedNoWrite(PayloadTooLargeError, () => resumeHook(token, 'x'.repeat(1024 * 1024)));
      expect(err.limit).to.equal(1024 * 1024);
      expect(err.size).to.be.greaterThan(1024 * 1024);
    });

    it('exactly at the default limit is accepted; one byte more is not', async function () {
      await setUp();
      const limit = DEFAULT_MAX_PAYLOAD_BYTES;
      const overhead = serialisedSizeOfString(0);
      const fits = 'x'.repeat(limit - overhead);
      expect(serialisedSizeOfString(fits.length)).to.equal(limit);
      await expectTypedNoWrite(PayloadTooLargeError, () => resumeHook(token, `${fits}x`));
      expect((await resumeHook(token, fits)).runId).to.equal(runId);
      const [stored] = await receivedPayloads(store, runId);
      expect(stored).to.equal(fits);
    });

    it('a smaller limit set with configure({ maxPayloadBytes }) applies, in UTF-8 bytes', async function () {
      await setUp({ maxPayloadBytes: 200 });
      const overhead = serialisedSizeOfString(0);
      const err = await expectTypedNoWrite(PayloadTooLargeError, () => resumeHook(token, 'x'.repeat(200 - overhead + 1)));
      expect(err.limit).to.equal(200);
      expect(err.size).to.equal(201);
      // 'é' is 2 bytes: fewer characters than the limit, more bytes.
      const chars = Math.floor((200 - overhead) / 2) + 1;
      await expectTypedNoWrite(PayloadTooLargeError, () => resumeHook(token, 'é'.repeat(chars)));
      // Exactly at the limit is accepted.
      expect((await resumeHook(token, 'x'.repeat(200 - overhead))).runId).to.equal(runId);
      expect(await eventsOfType(store, runId, 'hook_received')).to.have.length(1);
    });

    it('configure rejects a limit that is not a positive integer', function () {
      for (const bad of [0, -1, 1.5, Number.NaN]) {
        expect(() => configure({ connection: suite.redis.url, maxPayloadBytes: bad }), String(bad)).to.throw(InvalidArgumentError);
      }
    });
  });

  describe('round trips', function () {
    beforeEach(() => setUp());

    it('Map, Set, Date, BigInt, undefined, RegExp, URL, Uint8Array and nesting come back exactly', async function () {
      const payload = {
        when: new Date('2024-02-29T12:34:56.789Z'),
        big: 12345678901234567890123n,
        nothing: undefined,
        map: new Map<unknown, unknown>([
          ['a', 1],
          [2, new Date(0)],
          ['nested', new Map([['deep', new Set([1n, 'two', undefined])]])],
        ]),
        set: new Set([1, 'one', null]),
        list: [undefined, 1, [new Date(1), { x: undefined }]],
        re: /ab+c/gi,
        url: new URL('https://example.com/a?b=c'),
        bytes: new Uint8Array([0, 1, 254, 255]),
        special: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY],
        text: 'héllo \u0000 wörld ✓',
      };
      await resumeHook(token, payload);
      const [event] = await eventsOfType(store, runId, 'hook_received');
      const data = deserialize<{ payload: typeof payload }>(event!.data);
      expect(data.payload).to.deep.equal(payload);
      expect(data.payload.when).to.be.instanceOf(Date);
      expect(data.payload.big).to.be.a('bigint');
      expect(data.payload.map).to.be.instanceOf(Map);
      expect(data.payload.set).to.be.instanceOf(Set);
      expect(Object.hasOwn(data.payload, 'nothing')).to.equal(true);
      expect(data.payload.bytes).to.be.instanceOf(Uint8Array);
    });

    for (const [label, value] of [
      ['undefined', undefined],
      ['null', null],
      ['a bare BigInt', 42n],
      ['a bare Date', new Date(1700000000000)],
      ['an empty string', ''],
      ['NaN', Number.NaN],
    ] as const) {
      it(`a top-level ${label} payload round-trips`, async function () {
        await resumeHook(token, value);
        const [event] = await eventsOfType(store, runId, 'hook_received');
        const data = deserialize<{ payload: unknown }>(event!.data);
        expect(Object.hasOwn(data as object, 'payload')).to.equal(true);
        expect(data.payload).to.deep.equal(value);
      });
    }

    it('getHookByToken returns the hook with metadata and createdAt rehydrated, isWebhook false', async function () {
      const t = `meta:${runId}`;
      const metadata = { orderId: 'o-1', due: new Date('2030-01-01T00:00:00Z'), tags: new Set(['a']), amount: 10n };
      const before = Date.now();
      expect((await claimHook(store, runId, t, { hookId: 'hook_meta', metadata })).r).to.equal('ok');
      const after = Date.now();
      const hook = await getHookByToken<typeof metadata>(t);
      expect(hook.runId).to.equal(runId);
      expect(hook.hookId).to.equal('hook_meta');
      expect(hook.token).to.equal(t);
      expect(hook.isWebhook).to.equal(false);
      expect(hook.metadata).to.deep.equal(metadata);
      expect(hook.metadata!.due).to.be.instanceOf(Date);
      expect(hook.createdAt).to.be.instanceOf(Date);
      // Server clock (same host): within the window of the claim, give or take a second.
      expect(hook.createdAt.getTime()).to.be.within(before - 1000, after + 1000);
      // resumeHook resolves to the same HookInfo.
      expect(await resumeHook(t, 1)).to.deep.equal(hook);
    });

    it('a hook created without metadata reports metadata undefined', async function () {
      const t = `nometa:${runId}`;
      expect((await claimHook(store, runId, t, { hookId: 'hook_plain' })).r).to.equal('ok');
      const hook = await getHookByToken(t);
      expect(hook.metadata).to.equal(undefined);
      expect(hook.isWebhook).to.equal(false);
    });
  });
});
