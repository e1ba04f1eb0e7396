/**
 * Strict structural equality for the codec's property tests: what "comes back
 * the same" means. Stricter than chai's deep equal where the codec can go
 * wrong: numbers by Object.is (-0 is not 0, NaN is NaN), Dates by their time
 * (invalid is NaN), holes are not undefined, Map and Set order counts,
 * prototypes count (a class instance is not a plain object), and sharing
 * counts: the same object in two places must come back as one object, and a
 * cycle as a cycle. Not a spec file.
 *
 * Two deliberate leniencies, both documented behaviour of the codec: an object
 * with a null prototype comes back with Object.prototype (JSON has no
 * prototypes), and an Error is compared by name, message and cause (its stack
 * is not stored; an absent cause and an undefined one are alike).
 */

/** The first difference between `actual` and `expected`, as a path and a reason; undefined when they are the same. */
export function difference(actual: unknown, expected: unknown): string | undefined {
  return new Comparison().diff(actual, expected, '$');
}

class Comparison {
  /** expected object → the actual object it was matched with (sharing must map one to one). */
  private readonly pairs = new Map<object, object>();
  private readonly matched = new Set<object>();

  diff(a: unknown, e: unknown, at: string): string | undefined {
    if (typeof e !== 'object' || e === null) {
      if (typeof e === 'function') return `${at}: expected a function (not data)`;
      return Object.is(a, e) ? undefined : `${at}: expected ${show(e)}, got ${show(a)}`;
    }
    if (typeof a !== 'object' || a === null) return `${at}: expected an object, got ${show(a)}`;
    const paired = this.pairs.get(e);
    if (paired !== undefined) return paired === a ? undefined : `${at}: expected the object shared with an earlier place, got another one`;
    if (this.matched.has(a)) return `${at}: got an object already matched elsewhere, expected a distinct one`;
    this.pairs.set(e, a);
    this.matched.add(a);
    const pe = Object.getPrototypeOf(e) ?? Object.prototype;
    const pa = Object.getPrototypeOf(a) ?? Object.prototype;
    if (pe !== pa) return `${at}: expected prototype of ${protoName(pe)}, got ${protoName(pa)}`;
    if (e instanceof Date) return Object.is((a as Date).getTime(), e.getTime()) ? undefined : `${at}: expected Date ${e.getTime()}, got ${(a as Date).getTime()}`;
    if (e instanceof RegExp) return String(a) === String(e) ? undefined : `${at}: expected ${String(e)}, got ${String(a)}`;
    if (e instanceof URL) return (a as URL).href === e.href ? undefined : `${at}: expected URL ${e.href}, got ${(a as URL).href}`;
    if (e instanceof Uint8Array) {
      const b = a as Uint8Array;
      return b.length === e.length && b.every((x, i) => x === e[i]) ? undefined : `${at}: bytes differ`;
    }
    if (e instanceof Map) return this.entries([...(a as Map<unknown, unknown>)], [...e], at, 'Map entry');
    if (e instanceof Set) return this.items([...(a as Set<unknown>)], [...e], at, 'Set item');
    if (e instanceof Error) {
      const b = a as Error;
      if (b.name !== e.name || b.message !== e.message) return `${at}: expected ${e.name}: ${e.message}, got ${b.name}: ${b.message}`;
      return this.diff(b.cause, e.cause, `${at}.cause`);
    }
    if (Array.isArray(e)) {
      const b = a as unknown[];
      if (b.length !== e.length) return `${at}: expected length ${e.length}, got ${b.length}`;
      for (let i = 0; i < e.length; i++) {
        if (i in e !== i in b) return `${at}[${i}]: expected ${i in e ? 'an item' : 'a hole'}, got ${i in b ? 'an item' : 'a hole'}`;
        const d = this.diff(b[i], e[i], `${at}[${i}]`);
        if (d) return d;
      }
      return this.keys(a, e, at, (k) => !/^(0|[1-9]\d*)$/.test(k));
    }
    return this.keys(a, e, at, () => true);
  }

  /** Own enumerable string keys (those `pick` selects): the same, in the same order, with the same values. */
  private keys(a: object, e: object, at: string, pick: (k: string) => boolean): string | undefined {
    const se = Object.getOwnPropertySymbols(e).length;
    const sa = Object.getOwnPropertySymbols(a).length;
    if (se !== sa) return `${at}: expected ${se} symbol-keyed properties, got ${sa}`;
    const ke = Object.keys(e).filter(pick);
    const ka = Object.keys(a).filter(pick);
    if (ke.length !== ka.length || ke.some((k, i) => k !== ka[i])) return `${at}: expected keys ${show(ke)}, got ${show(ka)}`;
    for (const k of ke) {
      const d = this.diff((a as Record<string, unknown>)[k], (e as Record<string, unknown>)[k], `${at}.${show(k)}`);
      if (d) return d;
    }
    return undefined;
  }

  private items(a: unknown[], e: unknown[], at: string, what: string): string | undefined {
    if (a.length !== e.length) return `${at}: expected ${e.length} ${what}s, got ${a.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = this.diff(a[i], e[i], `${at}{${what} #${i + 1}}`);
      if (d) return d;
    }
    return undefined;
  }

  private entries(a: [unknown, unknown][], e: [unknown, unknown][], at: string, what: string): string | undefined {
    if (a.length !== e.length) return `${at}: expected ${e.length} ${what}s, got ${a.length}`;
    for (let i = 0; i < e.length; i++) {
      const d = this.diff(a[i]![0], e[i]![0], `${at}{${what} #${i + 1} key}`) ?? this.diff(a[i]![1], e[i]![1], `${at}{${what} #${i + 1} value}`);
      if (d) return d;
    }
    return undefined;
  }
}

function protoName(p: object): string {
  return (p as { constructor?: { name?: string } }).constructor?.name || 'an anonymous class';
}

/** A short, safe rendering of a value for a message. */
export function show(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'number') return Object.is(v, -0) ? '-0' : String(v);
  if (typeof v === 'string') return JSON.stringify(v);
  if (v === undefined) return 'undefined';
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return JSON.stringify(v);
  if (typeof v === 'object' && v !== null) return `an instance of ${protoName(Object.getPrototypeOf(v) ?? Object.prototype)}`;
  return String(v);
}
