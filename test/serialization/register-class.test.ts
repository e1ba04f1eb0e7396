/**
 * registerSerializableClass() in one process (issue 16): instances round-trip
 * as instances, wherever they are nested; the id defaults to the class name;
 * bad registrations are refused with InvalidArgumentError saying what to do;
 * reading an id this process never registered fails with
 * UnregisteredClassError naming it. (Across processes: two-processes.test.ts.)
 */
import { expect } from 'chai';
import { registerSerializableClass, UnregisteredClassError } from 'workflow-redis';
import { InvalidArgumentError, SerializationError } from 'workflow-redis/api';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { Box, Price } from './_classes.js';
import { difference } from './_same.js';
import { thrownBy } from '../helpers/throws.js';


/** A constructor with Date's prototype that is not Date, as the worker's patched global Date is. */
function dateStandIn(): DateConstructor {
  const RealDate = Date;
  const standIn = function (this: unknown, ...args: unknown[]) {
    return Reflect.construct(RealDate, args, new.target);
  } as unknown as DateConstructor;
  (standIn as { prototype: Date }).prototype = RealDate.prototype;
  return standIn;
}

describe('serialization: registerSerializableClass', function () {
  it('an instance comes back as an instance with its fields and methods, nested anywhere', function () {
    const p = new Price(1250n, 'EUR');
    const value = { list: [p], map: new Map([[p, new Box(new Set([p]))]]), box: new Box({ at: new Date(5), p }) };
    const back = deserialize<typeof value>(serialize(value));
    expect(difference(back, value)).to.equal(undefined);
    expect(back.list[0]).to.be.instanceOf(Price);
    expect(back.list[0]!.add(new Price(1n, 'EUR'))).to.deep.equal(new Price(1251n, 'EUR'));
    // Shared, it is one instance on reading too.
    expect(back.map.keys().next().value).to.equal(back.list[0]);
  });

  it('the id defaults to the class name, and is what is stored', function () {
    class Coupon {
      constructor(readonly code = 'X') {}
    }
    registerSerializableClass(Coupon);
    const text = serialize(new Coupon('SPRING'));
    expect(JSON.parse(text).meta.values).to.deep.equal([['class', 'Coupon']]);
    expect(deserialize(text)).to.be.instanceOf(Coupon);
  });

  it('registering a class again with its id does nothing', function () {
    expect(() => registerSerializableClass(Price, 'test.serialization.Price')).to.not.throw();
    expect(deserialize(serialize(new Price(1n, 'X')))).to.be.instanceOf(Price);
  });

  describe('refuses, with InvalidArgumentError saying what to do', function () {
    class Other {}
    const cases: [string, () => void, RegExp][] = [
      ['a class already registered under another id', () => registerSerializableClass(Price, 'another.id'), /already registered as "test\.serialization\.Price"/],
      ['an id another class holds', () => registerSerializableClass(Other, 'test.serialization.Price'), /"test\.serialization\.Price" is already registered for another class \(Price\)/],
      ['an anonymous class without an id', () => registerSerializableClass((() => class {})()), /has no name: pass an id/],
      ['an empty id', () => registerSerializableClass(Other, ''), /must be a non-empty string/],
      ['a function that is not a constructor', () => registerSerializableClass((() => 1) as never, 'x.arrow'), /must be a class/],
      ['a class extending Map', () => registerSerializableClass(class Registry extends Map {}, 'x.map'), /Registry is or extends the built-in Map/],
      ['a class extending Array', () => registerSerializableClass(class List extends Array {}, 'x.list'), /extends the built-in Array/],
      ['a class extending Error', () => registerSerializableClass(class Oops extends Error {}, 'x.oops'), /Errors need no registration/],
      ['a built-in class itself', () => registerSerializableClass(Date, 'x.date'), /is or extends the built-in Date/],
      // What the worker puts in place of the global Date (the full suite found it: Date itself was then not refused).
      ['a stand-in sharing a built-in class\'s prototype', () => registerSerializableClass(dateStandIn(), 'x.date2'), /is or extends the built-in Date/],
      ['Object', () => registerSerializableClass(Object, 'x.object'), /built-in Object/],
    ];
    for (const [label, fn, message] of cases) {
      it(label, function () {
        const err = thrownBy(fn);
        expect(InvalidArgumentError.is(err), err.message).to.equal(true);
        expect(err.message).to.match(message);
      });
    }

    it('and the refused registrations did not register anything', function () {
      class NotRegistered {}
      expect(thrownBy(() => registerSerializableClass(NotRegistered, 'test.serialization.Price')).name).to.equal('InvalidArgumentError');
      expect(SerializationError.is(thrownBy(() => serialize(new NotRegistered())))).to.equal(true);
      expect(deserialize(serialize(new Price(2n, 'X')))).to.be.instanceOf(Price);
    });
  });

  it('reading an instance of a class this process never registered fails with UnregisteredClassError naming its id', function () {
    // What another process, which registered the class, wrote.
    const text = serialize({ items: [new Price(1n, 'EUR')] }).replaceAll('test.serialization.Price', 'billing.Unknown');
    const err = thrownBy(() => deserialize(text));
    expect(UnregisteredClassError.is(err)).to.equal(true);
    expect(err).to.be.instanceOf(UnregisteredClassError);
    expect((err as UnregisteredClassError).classId).to.equal('billing.Unknown');
    expect(err.message).to.include('no class is registered as "billing.Unknown" in this process');
    expect(err.message).to.include('registerSerializableClass(TheClass, "billing.Unknown")');
  });

  it('an unregistered instance is refused on writing, with the fix in the message', function () {
    class Unregistered {}
    const err = thrownBy(() => serialize([new Unregistered()], 'payload'));
    expect(SerializationError.is(err)).to.equal(true);
    expect(err.message).to.include('payload → array index 0: it is an instance of Unregistered; pass plain data or register the class with registerSerializableClass()');
  });
});
