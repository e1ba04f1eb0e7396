/**
 * Run ids (lib/runtime/ids.ts): ULIDs, monotonic within a process, so runs
 * created in the same millisecond still list newest first.
 */
import { expect } from 'chai';
import { newRunId, ulid } from '../../lib/runtime/ids.js';

const CROCKFORD = /^[0-9A-HJKMNP-TV-Z]{26}$/;

/** The time part of a ULID (first 10 characters), in ms. */
const timeOf = (id: string) => [...id.slice(0, 10)].reduce((t, c) => t * 32 + '0123456789ABCDEFGHJKMNPQRSTVWXYZ'.indexOf(c), 0);

describe('run ids', function () {
  it('are wrun_ + a 26-character ULID whose time part is the creation time', () => {
    const before = Date.now();
    const id = newRunId();
    const after = Date.now();
    expect(id).to.match(/^wrun_/);
    expect(id.slice(5)).to.match(CROCKFORD);
    expect(timeOf(id.slice(5))).to.be.within(before, after);
  });

  it('made in a burst (many in the same millisecond), they are unique and sort in creation order', () => {
    const ids = Array.from({ length: 5000 }, () => newRunId());
    expect(new Set(ids).size).to.equal(ids.length);
    expect([...ids].sort()).to.deep.equal(ids);
  });

  it('stay in order when the clock steps back, and carry across the random part', () => {
    const t = Date.now() + 60_000;
    const a = ulid(t);
    const b = ulid(t - 5_000); // the clock stepped back
    const c = ulid(t);
    expect([a, b, c].sort()).to.deep.equal([a, b, c]);
    expect(new Set([a, b, c]).size).to.equal(3);
    expect(timeOf(b), 'keeps the last time').to.equal(t);
  });
});
