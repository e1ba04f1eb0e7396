/** Test harness of the World's storage: a context on the suite's private Redis, a fresh prefix per test. */
import type { Storage } from '@workflow/world';
import { resolveWorldConfig, WorldContext } from '../../lib/world/context.js';
import { createWorldStorage } from '../../lib/world/storage.js';
import { ulid } from '../../lib/world/ids.js';
import { uniquePrefix } from '../helpers/redis.js';

export interface StorageUnderTest {
  ctx: WorldContext;
  storage: Storage;
  close(): Promise<void>;
}

/** A World context and storage of its own prefix on `url`. */
export function openStorage(url: string): StorageUnderTest {
  const ctx = new WorldContext(resolveWorldConfig({ redis: url, prefix: uniquePrefix('wdk') }));
  return { ctx, storage: createWorldStorage(ctx), close: () => ctx.close() };
}

/** A fresh client-minted run id. */
export const newRunId = () => `wrun_${ulid()}`;

/** Bytes with NUL and 0xFF in them: what Lua's cjson would mangle if it ever saw them raw. */
export const binary = (seed = 1) => new Uint8Array([0, 255, seed, 0, 0xfe, 0x80, 10, 0]);

/** Every key of the context's prefix with its type and content, for "nothing written" checks. */
export async function snapshot(ctx: WorldContext): Promise<string> {
  const keys = (await ctx.redis.keys(`${ctx.keys.tag}:*`)).sort();
  const parts: string[] = [];
  for (const key of keys) {
    const type = await ctx.redis.type(key);
    let v: unknown;
    if (type === 'hash') v = await ctx.redis.hgetall(key);
    else if (type === 'stream') v = await ctx.redis.xrange(key, '-', '+');
    else if (type === 'zset') v = await ctx.redis.zrange(key, '0', '-1', 'WITHSCORES');
    else if (type === 'set') v = (await ctx.redis.smembers(key)).sort();
    else v = await ctx.redis.get(key);
    parts.push(`${key} ${type} ${JSON.stringify(v)}`);
  }
  return parts.join('\n');
}
