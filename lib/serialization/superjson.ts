/**
 * The superjson instance workflow-redis uses (custom types are registered on
 * it). It lives apart from codec.ts so that no published declaration file
 * names superjson's types: superjson is ESM-only, and a CommonJS consumer's
 * TypeScript (`module: node16`) refuses a declaration that imports one
 * (docs/PACKAGING.md; checked by test/consumer).
 */
import { SuperJSON } from 'superjson';

/** The shared instance (codec.ts serialises with it; registerSerializableClass registers on it). */
export const superjson = new SuperJSON();

superjson.registerCustom<Uint8Array, string>(
  {
    isApplicable: (v): v is Uint8Array => v instanceof Uint8Array,
    serialize: (v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64'),
    deserialize: (s) => new Uint8Array(Buffer.from(s, 'base64')),
  },
  'Uint8Array',
);
