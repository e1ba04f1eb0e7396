/**
 * fast-check arbitraries for the codec's property tests: everything a payload,
 * an argument or a result can hold, the corners included (-0, NaN, invalid
 * Dates, holes, lone surrogates, NUL, keys such as `__proto__` or `a.b`),
 * values shared between places and cycles through every kind of container,
 * and values the codec must refuse (functions, symbols, unregistered classes).
 * Not a spec file.
 */
import fc from 'fast-check';
import { Box, Price } from './_classes.js';

/** Units of the generated strings: any code point, and the characters that break naive codecs. */
const unit = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 2, arbitrary: fc.constantFrom('\u0000', '\ud800', '\udbff', '\udc00', '\udfff', '.', '\\', '"', '\n', '\u2028', '\ufeff') },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Strings, lone surrogates and NUL included. */
export const text = fc.string({ unit, maxLength: 8 });

/** Object keys: strings as above, and the ones superjson's paths or JavaScript treat specially. */
export const key = fc.oneof(
  { weight: 3, arbitrary: text },
  {
    weight: 1,
    arbitrary: fc.constantFrom('', '.', 'a.b', '\\', '\\.', '.\\', '__proto__', 'constructor', 'prototype', 'toString', '0', '01', '-1', '4294967295', 'json', 'meta', 'length', 'cause'),
  },
);

/** Numbers, with the ones JSON cannot hold. */
export const number = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.constantFrom(-0, 0, NaN, Infinity, -Infinity, Number.MIN_VALUE, 1e21, 2 ** 53 + 2, -(2 ** 31)),
);

const regexpSources: [string, string][] = [
  ['a', ''],
  ['a/b', 'g'],
  ['[.]+\\\\', 'imsy'],
  ['\\u{1F600}', 'u'],
  ['\\n|\\/', ''],
  ['', 'd'],
];

/** Bytes: whole arrays, and views on part of a larger buffer. */
const bytes = fc.oneof(
  fc.uint8Array({ maxLength: 8 }),
  fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 12 }), fc.nat(3), fc.nat(3)).map(([b, from, cut]) => b.subarray(from, b.length - cut)),
);

/** Scalars and the values stored as one string or a small record. */
export const leaf: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: text },
  { weight: 3, arbitrary: number },
  { weight: 1, arbitrary: fc.bigInt() },
  { weight: 1, arbitrary: fc.boolean() },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.date({ noInvalidDate: false }).map((d) => new Date(d.getTime())) },
  { weight: 1, arbitrary: fc.constant(NaN).map((t) => new Date(t)) },
  { weight: 1, arbitrary: bytes },
  { weight: 1, arbitrary: fc.constantFrom(...regexpSources).map(([s, f]) => new RegExp(s, f)) },
  { weight: 1, arbitrary: fc.webUrl().map((u) => new URL(u)) },
  { weight: 1, arbitrary: fc.tuple(fc.bigInt(), text).map(([c, cur]) => new Price(c, cur)) },
);

/** An Error without a cause (`'cause' in e` is false). */
const NO_CAUSE = Symbol('no cause');

/** How a generated object is placed twice: in which kinds of container, in which position. */
const SHARINGS = [
  (o: object, _x: unknown) => [o, o],
  (o: object, x: unknown) => ({ a: o, b: { c: o }, x }),
  (o: object, x: unknown) => [o, new Set([x, o])],
  (o: object, x: unknown) => [new Set([o, x]), o],
  (o: object, x: unknown) => [o, new Map<unknown, unknown>([[x, 1], [o, 2]])],
  (o: object, x: unknown) => [o, new Map([[x, o]])],
  (o: object, _x: unknown) => [o, new Box(o)],
  (o: object, x: unknown) => [new Box({ k: o, x }), o],
  (o: object, _x: unknown) => [o, new Error('shared', { cause: o })],
] as const;

/** Containers that hold themselves, through every kind of container. */
const CYCLES = [
  (x: unknown) => {
    const a: unknown[] = [x];
    a.push(a);
    return a;
  },
  (x: unknown) => {
    const o: Record<string, unknown> = { x };
    o.self = o;
    return o;
  },
  (x: unknown) => {
    const b = new Box(x);
    b.inner = [x, b];
    return b;
  },
  (x: unknown) => {
    const o: Record<string, unknown> = { x };
    o.self = o;
    return new Box(o);
  },
  (x: unknown) => {
    const e = new Error('cycle', { cause: x });
    e.cause = e;
    return e;
  },
  (x: unknown) => {
    const m = new Map<unknown, unknown>([[x, 1]]);
    m.set('self', m);
    return m;
  },
  (x: unknown) => {
    const m = new Map<unknown, unknown>([[x, 1]]);
    m.set(m, 2);
    return m;
  },
  (x: unknown) => {
    const s = new Set<unknown>([x]);
    s.add(s);
    return s;
  },
  (x: unknown) => {
    const s = new Set<unknown>();
    s.add(s);
    s.add(x);
    return s;
  },
] as const;

/** Values the codec cannot store and must refuse. */
const refused: fc.Arbitrary<unknown> = fc.constantFrom(
  () => () => 1,
  () => Symbol('s'),
  () => ({ [Symbol('k')]: 1 }),
  () => new (class Unregistered {})(),
  () => Promise.resolve(1),
  () => new WeakMap(),
  () => new Float64Array([-0, NaN]),
  () => new ArrayBuffer(2),
  () => Object(1) as unknown,
).map((make) => make());

/** Options of {@link values}. */
export interface ValueOptions {
  /** Also generate values the codec must refuse (default false). */
  refusable?: boolean;
}

/** Any value, nested a few levels, sharing and cycles included. */
export function values(opts: ValueOptions = {}): fc.Arbitrary<unknown> {
  const tree = fc.letrec<{ value: unknown; obj: object }>((tie) => {
    const kids = { maxLength: 4 };
    const entries = fc.array(fc.tuple(key, tie('value')), kids);
    return {
      value: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        { weight: 6, arbitrary: leaf },
        { weight: 3, arbitrary: tie('obj') },
        { weight: 1, arbitrary: fc.tuple(tie('obj'), tie('value'), fc.nat(SHARINGS.length - 1)).map(([o, x, i]) => SHARINGS[i]!(o, x)) },
        { weight: 1, arbitrary: fc.tuple(tie('value'), fc.nat(CYCLES.length - 1)).map(([x, i]) => CYCLES[i]!(x)) },
        { weight: opts.refusable ? 1 : 0, arbitrary: refused },
      ),
      obj: fc.oneof(
        { depthSize: 'small' },
        fc.array(tie('value'), kids),
        fc.sparseArray(tie('value'), { maxLength: 5 }),
        entries.map((e) => Object.fromEntries(e)),
        entries.map((e) => Object.assign(Object.create(null) as object, Object.fromEntries(e))),
        fc.array(fc.tuple(tie('value'), tie('value')), kids).map((e) => new Map(e)),
        fc.array(tie('value'), kids).map((a) => new Set(a)),
        fc.tuple(text, fc.oneof(fc.constant(NO_CAUSE), tie('value'))).map(([m, c]) => (c === NO_CAUSE ? new Error(m) : new Error(m, { cause: c }))),
        tie('value').map((v) => new Box(v)),
        fc.date().map((d) => new Date(d.getTime())),
      ),
    };
  });
  return tree.value;
}

/** Plain JSON data (what the fast paths handle), with the keys and strings above, some of it deeper or wider than the fast path's bounds. */
export function plainJson(): fc.Arbitrary<unknown> {
  const scalar = fc.oneof(text, fc.double({ noNaN: true, noDefaultInfinity: true }), fc.integer(), fc.boolean(), fc.constant(null));
  const tree = fc.letrec<{ value: unknown }>((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      { weight: 3, arbitrary: scalar },
      fc.array(tie('value'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('value')), { maxLength: 4 }).map((e) => Object.fromEntries(e)),
    ),
  }));
  return fc.oneof(
    { weight: 8, arbitrary: tree.value },
    // Past the recursive fast path's bounds (33 levels, 256 containers): the iterative check decides.
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 28, max: 40 }), tree.value, fc.boolean()).map(([n, v, obj]) => nest(n, v, obj)) },
    { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 250, max: 270 }), tree.value).map(([n, v]) => Array.from({ length: n }, (_, i) => ({ i, v: i === 0 ? v : [i] }))) },
  );
}

/** `n` arrays or objects around `v`. */
export function nest(n: number, v: unknown, objects = false): unknown {
  for (let i = 0; i < n; i++) v = objects ? { k: v } : [v];
  return v;
}
