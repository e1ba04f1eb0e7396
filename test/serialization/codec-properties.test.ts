/**
 * Property tests of the codec (issue 16), against references: superjson's own
 * round trip, the depth rule computed naively, the byte size of the text.
 * Generated values (test/serialization/_values.ts) hold every type the codec
 * stores and its corners, values shared between places and cycles.
 *
 * Seeded: the seed is in the suite's title, `FC_SEED=<n>` replays another,
 * and fast-check prints the seed and path of a failure (`FC_PATH` replays it).
 * What these properties found is kept as regular tests in codec-regressions.test.ts.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { PayloadTooLargeError, SerializationError } from 'workflow-redis/api';
import { deserialize, serialize, serializeLimited } from '../../lib/serialization/codec.js';
import { superjson } from '../../lib/serialization/superjson.js';
import { attempt, check, referenceDepth, SEED, storableUnchecked, throughUtf8 } from './_oracle.js';
import { difference } from './_same.js';
import { plainJson, values } from './_values.js';

/** The message of the last refusal of {@link accepted}. */
let refusal = '';

/** serialize(), or undefined when it refuses the value with a SerializationError (any other error fails the test). */
function accepted(v: unknown, opts?: Parameters<typeof serialize>[2]): string | undefined {
  try {
    return serialize(v, 'value', opts);
  } catch (err) {
    if (!SerializationError.is(err)) throw new Error(`serialize threw ${(err as Error)?.name}, not a SerializationError: ${(err as Error)?.message}`, { cause: err });
    refusal = (err as Error).message;
    return undefined;
  }
}

describe(`serialization: codec properties (seed ${SEED}; FC_SEED=<n> to change)`, function () {
  this.timeout(60_000);

  it('what serialize() accepts comes back the same through UTF-8; what it refuses would not come back the same without the check', function () {
    check(
      fc.property(values({ refusable: true }), (v) => {
        const text = accepted(v);
        if (text === undefined) {
          const ref = storableUnchecked(v);
          if (ref.faithful) throw new Error(`refused, although it round-trips without the check: ${refusal}`);
          return;
        }
        // With the u flag a pair is one code point: \p{Cs} matches only a lone surrogate, which UTF-8 cannot carry.
        expect(/\p{Cs}/u.test(text), 'a lone surrogate in the stored text').to.equal(false);
        const back = deserialize(throughUtf8(text));
        const d = difference(back, v);
        if (d) throw new Error(`accepted, but it comes back different: ${d}\nstored: ${text}`);
      }),
      4000,
    );
  });

  it('serialize() writes exactly superjson.stringify() text, fast path or not', function () {
    const arb = fc.oneof(values(), plainJson());
    check(
      fc.property(arb, (v) => {
        const text = accepted(v);
        if (text === undefined) return;
        expect(text).to.equal(superjson.stringify(v as never));
      }),
      3000,
    );
  });

  it('deserialize() of plain JSON (the fast path) gives what superjson.deserialize() gives', function () {
    // fast-check's own JSON values too: other shapes and sizes than plainJson()'s.
    const arb = fc.oneof(plainJson(), fc.jsonValue({ stringUnit: 'binary', depthSize: 'small' }));
    check(
      fc.property(arb, (v) => {
        const text = accepted(v);
        if (text === undefined) return;
        const d = difference(deserialize(text), superjson.deserialize(JSON.parse(text) as never));
        if (d) throw new Error(`the fast path differs from superjson: ${d}\nstored: ${text}`);
      }),
      3000,
    );
  });

  it('the depth check accepts exactly the values no deeper than the limit', function () {
    const arb = fc.tuple(fc.oneof(values(), plainJson()), fc.oneof(values(), plainJson()));
    check(
      fc.property(arb, ([v, w]) => {
        const text = accepted(v);
        if (text === undefined || accepted(w) === undefined) return;
        const dv = referenceDepth(v);
        const dw = referenceDepth(w);
        for (const max of [dv - 1, dv, dv + 1].filter((m) => m >= 1)) {
          const r = attempt(() => serialize(v, 'value', { maxDepth: max }));
          if (dv <= max) expect(r.ok && r.value, `depth ${dv}, limit ${max}`).to.equal(text);
          else expect(!r.ok && (r.error as SerializationError).maxDepth, `depth ${dv}, limit ${max}`).to.equal(max);
        }
        // An argument list: the limit applies to each argument.
        const max = Math.max(1, Math.min(dv, dw));
        const r = attempt(() => serialize([v, w], 'arguments', { maxDepth: max, argumentList: true }));
        expect(r.ok, `argument depths ${dv} and ${dw}, limit ${max}`).to.equal(Math.max(dv, dw) <= max);
      }),
      1500,
    );
  });

  it('the size check accepts exactly the values whose text is at most the limit in UTF-8 bytes', function () {
    check(
      fc.property(fc.oneof(values(), plainJson()), (v) => {
        const text = accepted(v);
        if (text === undefined) return;
        const size = Buffer.byteLength(text, 'utf8');
        expect(serializeLimited(v, size)).to.equal(text);
        const r = attempt(() => serializeLimited(v, size - 1));
        expect(!r.ok && PayloadTooLargeError.is(r.error), `${size} bytes, limit ${size - 1}`).to.equal(true);
        expect((r as { error: PayloadTooLargeError }).error.size).to.equal(size);
      }),
      1500,
    );
  });
});
