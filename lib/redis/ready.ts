/**
 * Failing fast without Redis: waits for a client's first connection with a
 * deadline, so that an unreachable Redis becomes one RedisUnavailableError
 * naming the address within seconds, instead of commands queued in the
 * offline queue for as long as the client retries.
 */
import { Cluster, type Redis } from 'ioredis';
import { InvalidArgumentError, RedisUnavailableError } from '../errors/errors.js';
import { openConnection, type ConnectionInput } from './connection.js';

/** How long a first connection may take before it counts as failed. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 3000;

/** Checks a connect timeout option (ms): a positive integer. Returns the message of what is wrong, or undefined. */
export function connectTimeoutProblem(v: unknown, what = 'connectTimeoutMs'): string | undefined {
  if (v === undefined || (Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 600_000)) return undefined;
  return `${what} must be an integer number of ms from 1 to 600000 (default ${DEFAULT_CONNECT_TIMEOUT_MS}), got ${String(v)}.`;
}

/** A node of an address: `host:port`, without any credentials a URL may carry. */
function nodeAddress(n: unknown): string {
  if (typeof n === 'number') return `127.0.0.1:${n}`;
  if (typeof n === 'string') {
    try {
      const u = new URL(n);
      return `${u.hostname}:${u.port || 6379}`;
    } catch {
      return n.replace(/^.*@/, '');
    }
  }
  const o = (n ?? {}) as { host?: string; port?: number };
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** Where a client connects, for messages: host:port, a socket path, sentinels or cluster nodes; never credentials. */
export function clientAddress(client: Redis | Cluster): string {
  if (client instanceof Cluster) {
    const nodes = ((client as unknown as { startupNodes?: unknown[] }).startupNodes ?? []).map(nodeAddress);
    return `cluster ${nodes.join(', ') || '(no startup nodes)'}`;
  }
  const o = client.options;
  if (o.path) return `unix:${o.path}`;
  if (o.sentinels?.length) return `sentinels ${o.sentinels.map(nodeAddress).join(', ')} (master "${o.name ?? 'mymaster'}")`;
  return `${o.host ?? '127.0.0.1'}:${o.port ?? 6379}`;
}

/** An error's text for a message: its message, whitespace collapsed, cut short. */
function reasonOf(err: unknown): string {
  const msg = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim().replace(/\.+$/, '');
  const code = (err as { code?: unknown })?.code;
  let text = msg || (typeof code === 'string' ? code : 'unknown error');
  // Something listens there but hangs up on us (not Redis, a proxy without its backend, TLS expected...).
  if (code === 'EPIPE' || code === 'ECONNRESET') text = `the server closed the connection: ${text}`;
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}

/** Options of {@link waitUntilReady}. */
export interface WaitReadyOptions {
  /** Give up after this long (ms). Default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  timeoutMs?: number;
  /** Give up at the first failed attempt (refused, closed) instead of letting the client retry until the deadline. */
  failFast?: boolean;
}

/**
 * Resolves once `client` is ready; rejects with {@link RedisUnavailableError}
 * when it is not within the timeout (or ends, or, with `failFast`, fails an
 * attempt). The client is left as it is: the caller disconnects it or keeps
 * it retrying. Connects a client created with `lazyConnect`.
 */
export function waitUntilReady(client: Redis | Cluster, opts: WaitReadyOptions = {}): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    let last: string | undefined;
    const cleanup = () => {
      clearTimeout(timer);
      client.off('ready', onReady);
      client.off('error', onError);
      client.off('close', onClose);
      client.off('end', onEnd);
    };
    const fail = (reason: string) => {
      cleanup();
      reject(new RedisUnavailableError(clientAddress(client), reason, timeoutMs));
    };
    const onReady = () => {
      cleanup();
      resolve();
    };
    const onError = (err: unknown) => {
      last = reasonOf(err);
      if (opts.failFast) fail(last);
    };
    // A server that accepts and closes (not Redis, or refusing us) raises no error, only a close.
    const onClose = () => {
      last ??= 'the server closed the connection before it was ready';
      if (opts.failFast) fail(last);
    };
    const onEnd = () => fail(last ?? 'the connection ended');
    const timer = setTimeout(() => fail(last ?? 'no answer'), timeoutMs);
    client.on('ready', onReady);
    client.on('error', onError);
    client.on('close', onClose);
    client.on('end', onEnd);
    if (client.status === 'wait') client.connect().catch(() => undefined);
  });
}

/**
 * Checks that Redis answers: connects once (no retries), sends PING, closes.
 * Rejects with {@link RedisUnavailableError} naming the address within
 * `timeoutMs` (default {@link DEFAULT_CONNECT_TIMEOUT_MS}) when it cannot be
 * reached, refuses the connection or does not answer. For start-up checks
 * (a demo, a CLI, a readiness probe) that should exit with one clear message.
 */
export async function checkRedis(connection?: ConnectionInput, opts: { timeoutMs?: number } = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const problem = connectTimeoutProblem(timeoutMs, 'timeoutMs');
  if (problem) throw new InvalidArgumentError(problem);
  const client = openConnection(connection, { name: 'workflow-redis-check', probe: true });
  try {
    await waitUntilReady(client, { timeoutMs, failFast: true });
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new RedisUnavailableError(clientAddress(client), `no answer to PING within ${timeoutMs} ms`, timeoutMs)), timeoutMs);
    });
    try {
      await Promise.race([client.ping(), deadline]);
    } catch (err) {
      throw RedisUnavailableError.is(err) ? err : new RedisUnavailableError(clientAddress(client), reasonOf(err), timeoutMs);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    client.disconnect();
  }
}
