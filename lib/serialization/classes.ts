/**
 * registerSerializableClass(): classes whose instances round-trip through
 * stored values. (Reading an id this process has not registered throws
 * UnregisteredClassError: superjson.ts.)
 */
import { InvalidArgumentError } from '../errors/errors.js';
import { registeredClass, superjson } from './superjson.js';

type Class = abstract new (...args: any[]) => unknown;

/**
 * Built-in classes whose instances keep their contents in internal slots: an
 * instance of a subclass is stored as its own enumerable fields only, so its
 * items, time, bytes or message would be lost. Object: every plain object
 * would count as an instance.
 */
const BUILTINS: Function[] = [
  Array,
  Map,
  Set,
  WeakMap,
  WeakSet,
  Date,
  RegExp,
  Error,
  URL,
  Promise,
  ArrayBuffer,
  DataView,
  Object.getPrototypeOf(Uint8Array) as Function,
  Number,
  String,
  Boolean,
  Function,
];

function refuse(problem: string): never {
  throw new InvalidArgumentError(`registerSerializableClass(): ${problem}`);
}

/**
 * Registers a class so that its instances can be passed where workflow-redis
 * stores values — `start()` arguments, step arguments and results, workflow
 * return values, hook payloads and metadata — and come back as instances of
 * the class, with their fields and methods.
 *
 * - What is stored is the instance's own enumerable fields (checked and
 *   nested like any other value); on reading, an object with the class's
 *   prototype gets those fields back, without calling the constructor.
 *   `#private` fields and closures are not fields: keep the state in public
 *   (or `readonly`) properties.
 * - Register the class in every process that writes or reads its instances:
 *   the API side (which starts runs and reads `returnValue`) and every worker.
 *   A process that reads an instance of a class it did not register fails
 *   with `UnregisteredClassError` naming the id; an unregistered instance is
 *   refused on writing with `SerializationError`.
 * - The id is stored with the data: keep it stable across deploys. It
 *   defaults to the class's name, which bundlers and minifiers may rename:
 *   pass an id such as `'billing.Money'`.
 *
 * Registering the same class again with the same id does nothing.
 *
 * @param cls - The class (a constructor).
 * @param id - Its stored identifier; default `cls.name`.
 * @throws InvalidArgumentError when `cls` is not a class, extends a built-in
 *   class (Array, Map, Set, Date, Error...), has no name and no id is given,
 *   is already registered under another id, or when another class holds `id`.
 */
export function registerSerializableClass(cls: Class, id?: string): void {
  if (typeof cls !== 'function' || typeof cls.prototype !== 'object' || cls.prototype === null) {
    refuse('the first argument must be a class, e.g. registerSerializableClass(Money, "billing.Money").');
  }
  const name = cls.name || 'the class';
  if (id !== undefined && (typeof id !== 'string' || id === '')) refuse(`the id of ${name} must be a non-empty string.`);
  const identifier = id ?? cls.name;
  if (!identifier) refuse('the class has no name: pass an id, e.g. registerSerializableClass(cls, "billing.Money").');
  // By prototype, not identity: the worker replaces the global Date with a function that shares Date's prototype.
  const proto = cls.prototype as object;
  const builtin =
    proto === Object.prototype ? Object : BUILTINS.find((B) => proto === B.prototype || Object.prototype.isPrototypeOf.call(B.prototype, proto));
  if (builtin) {
    refuse(
      `${name} is or extends the built-in ${builtin.name}, whose contents are not fields and would not be stored. ` +
        (builtin === Error
          ? 'Errors need no registration: they are stored as Error, with their name, message and cause.'
          : `Keep the ${builtin.name} in a field of a class of your own, or pass it as it is (plain data).`),
    );
  }
  const current = superjson.classRegistry.getIdentifier(cls as never);
  if (current === identifier) return;
  if (current !== undefined) refuse(`${name} is already registered as "${current}"; a class has one id (it is stored with the data).`);
  const holder = registeredClass(identifier);
  if (holder !== undefined) {
    refuse(`the id "${identifier}" is already registered for another class (${holder.name || 'an anonymous class'}): give each class its own id.`);
  }
  superjson.registerClass(cls as never, identifier);
}
