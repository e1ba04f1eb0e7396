/**
 * Registered classes of the codec's property and unit tests. Registered when
 * this module loads: every test file that generates their instances imports it.
 * Not a spec file.
 */
import { registerSerializableClass } from 'workflow-redis';

/** A value class with a method: a domain object passed between workflow code and steps. */
export class Price {
  constructor(
    readonly cents: bigint,
    readonly currency: string,
  ) {}
  add(other: Price): Price {
    return new Price(this.cents + other.cents, this.currency);
  }
}

/** A registered container: whatever it holds is walked, counted and stored inside it. */
export class Box {
  constructor(public inner: unknown) {}
}

registerSerializableClass(Price, 'test.serialization.Price');
registerSerializableClass(Box, 'test.serialization.Box');
