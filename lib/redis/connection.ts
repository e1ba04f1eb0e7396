/**
 * Redis connections: a URL, ioredis options, or an existing ioredis instance.
 * AUTH, ACL users and TLS pass through (`rediss://user:pass@host`, or options).
 */
import { Redis, Cluster, type RedisOptions } from 'ioredis';
import { InvalidArgumentError } from '../errors/errors.js';

/** Where workflow-redis connects: a URL, ioredis options, or an ioredis instance. */
export type ConnectionInput = string | RedisOptions | Redis | Cluster;

/** The default connection: `REDIS_URL`, else the local server. */
export function defaultRedisUrl(): string {
  return process.env.REDIS_URL || 'redis://127.0.0.1:6379';
}

/** Is this an ioredis client (standalone or cluster)? */
export function isRedisInstance(c: unknown): c is Redis | Cluster {
  return c instanceof Redis || c instanceof Cluster;
}

/**
 * Opens a connection. `blocking` connections (BullMQ workers) need
 * `maxRetriesPerRequest: null`; producer connections keep a finite retry count
 * so that commands ride over a short blip once connected. The first
 * connection is awaited with a deadline by the callers (see ./ready.ts): an
 * unreachable Redis fails there within seconds, not through these retries.
 */
export function openConnection(input: ConnectionInput | undefined, opts: { blocking?: boolean; name?: string; probe?: boolean } = {}): Redis | Cluster {
  // A probe (checkRedis) connects once, on demand, and never queues or retries.
  const probe: RedisOptions = opts.probe ? { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, enableOfflineQueue: false } : {};
  const extra: RedisOptions = {
    maxRetriesPerRequest: opts.blocking ? null : 20,
    connectionName: opts.name,
    ...probe,
  };
  if (input === undefined) return new Redis(defaultRedisUrl(), extra);
  if (typeof input === 'string') {
    if (!/^rediss?:\/\//.test(input)) {
      throw new InvalidArgumentError(`Invalid Redis URL ${JSON.stringify(input)}: use redis://host:port or rediss:// for TLS.`);
    }
    return new Redis(input, extra);
  }
  if (isRedisInstance(input)) {
    if ((input.options as RedisOptions | undefined)?.keyPrefix) {
      throw new InvalidArgumentError("The ioredis instance has keyPrefix set: scripts build some keys themselves, so use the `prefix` option instead.");
    }
    if (opts.probe && input instanceof Redis) return input.duplicate(probe);
    // A blocking copy (BullMQ workers) must never give up a command: BullMQ refuses the connection otherwise.
    return opts.blocking ? (input as Redis).duplicate({ maxRetriesPerRequest: null }) : (input as Redis).duplicate();
  }
  if (typeof input === 'object') return new Redis({ ...input, ...extra });
  throw new InvalidArgumentError('connection must be a redis:// URL, ioredis options or an ioredis instance.');
}

/** Describes a connection for error messages, without credentials. */
export function describeConnection(input: ConnectionInput | undefined): string {
  if (input === undefined) return defaultRedisUrl().replace(/\/\/[^@]*@/, '//***@');
  if (typeof input === 'string') return input.replace(/\/\/[^@]*@/, '//***@');
  if (isRedisInstance(input)) return 'the ioredis instance passed in';
  return `${input.host ?? '127.0.0.1'}:${input.port ?? 6379}`;
}
