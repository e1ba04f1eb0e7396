/**
 * The superjson instance workflow-redis uses (custom types are registered on
 * it). It lives apart from codec.ts so that no published declaration file
 * names superjson's types: superjson is ESM-only, and a CommonJS consumer's
 * TypeScript (`module: node16`) refuses a declaration that imports one
 * (docs/PACKAGING.md; checked by test/consumer).
 */
import { SuperJSON } from 'superjson';
import { UnregisteredClassError } from '../errors/errors.js';

/** The shared instance (codec.ts serialises with it; registerSerializableClass registers on it). */
export const superjson = new SuperJSON();

const classes = superjson.classRegistry;
const lookUp = classes.getValue.bind(classes);

/** The class registered as `id`, if any. */
export function registeredClass(id: string): Function | undefined {
  return lookUp(id);
}

// superjson asks its registry for the class of each stored instance while reading, and throws a plain
// Error when there is none; the typed error instead names the id and says how to fix it.
classes.getValue = (id: string) => {
  const cls = lookUp(id);
  if (cls === undefined) throw new UnregisteredClassError(id);
  return cls;
};

superjson.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'Uint8Array',
);
