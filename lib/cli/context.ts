/**
 * What every CLI command shares: the global options (`--redis`, `--prefix`),
 * a fast reachability check of Redis, the runtime API configured on a
 * connection that gives up quickly, and the expected-error type.
 */
import { prefixProblem } from '../domain/prefix.js';
import { RedisUnavailableError } from '../errors/errors.js';
import { checkRedis as checkRedisReachable, configureFailFast, describeConnection } from '../runtime/connect.js';

/** Redis used when neither `--redis` nor `REDIS_URL` is given. */
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
/** Key prefix used when neither `--prefix` nor `WORKFLOW_PREFIX` is given. */
export const DEFAULT_PREFIX = 'wf';
/** How long the reachability check waits for Redis before giving up. */
export const CONNECT_TIMEOUT_MS = 3000;

/**
 * An expected failure: printed as one line (no stack trace) and the process
 * exits with `exitCode` (1 unless said otherwise).
 */
export class CliError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
    this.name = 'CliError';
  }
}

/** The global options, resolved. */
export interface GlobalOptions {
  /** The Redis URL (may carry credentials: print it with {@link safeUrl}). */
  redis: string;
  prefix: string;
}

/** Resolves and checks the global options given to commander (empty env values count as unset). */
export function resolveGlobals(raw: { redis?: string; prefix?: string }): GlobalOptions {
  const redis = raw.redis || process.env.REDIS_URL || DEFAULT_REDIS_URL;
  const prefix = raw.prefix || process.env.WORKFLOW_PREFIX || DEFAULT_PREFIX;
  if (!/^rediss?:\/\/\S*$/.test(redis)) {
    throw new CliError(`Invalid Redis URL ${JSON.stringify(safeUrl(redis))}: use redis://host:port (or rediss:// for TLS).`);
  }
  const badPrefix = prefixProblem(prefix);
  if (badPrefix) throw new CliError(badPrefix);
  return { redis, prefix };
}

/** The URL without its credentials, for messages. */
export function safeUrl(url: string): string {
  return describeConnection(url);
}

/** The message for an unreachable Redis. */
export function unreachableMessage(url: string, reason: string): string {
  return `Cannot reach Redis at ${safeUrl(url)}: ${reason}. Start Redis or pass --redis / set REDIS_URL.`;
}

/** Does this error come from the connection (refused, reset, timed out, closed) rather than from a command? */
export function isConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as NodeJS.ErrnoException).code;
  if (code && /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|EPIPE)$/.test(code)) return true;
  if (err.name === 'RedisUnavailableError') return true;
  return err.name === 'MaxRetriesPerRequestError' || /Connection is closed|Stream isn't writeable|connect ETIMEDOUT|Command timed out/.test(err.message);
}

/**
 * Connects once with no retries and sends PING; throws a {@link CliError}
 * within about {@link CONNECT_TIMEOUT_MS} when Redis cannot be reached or
 * refuses us (AUTH, TLS).
 */
export async function checkRedis(url: string, timeoutMs = CONNECT_TIMEOUT_MS): Promise<void> {
  try {
    await checkRedisReachable(url, { timeoutMs });
  } catch (err) {
    throw RedisUnavailableError.is(err) ? new CliError(unreachableMessage(url, err.reason)) : err;
  }
}

function reasonOf(err: unknown): string {
  if (RedisUnavailableError.is(err)) return err.reason;
  const msg = err instanceof Error ? err.message : String(err);
  return msg.replace(/\s+/g, ' ').trim().replace(/\.+$/, '') || 'unknown error';
}

/**
 * Checks Redis, then configures the runtime API (`getRun`, `listRuns`,
 * `resumeHook`...) on a connection that stops reconnecting after a few tries,
 * so that a Redis lost mid-command fails the command instead of hanging.
 * Returns the function that closes everything.
 */
export async function connectApi(g: GlobalOptions): Promise<() => Promise<void>> {
  await checkRedis(g.redis);
  try {
    return await configureFailFast({ url: g.redis, prefix: g.prefix, connectTimeoutMs: CONNECT_TIMEOUT_MS, connectionName: 'workflow-redis-cli' });
  } catch (err) {
    throw isConnectionError(err) ? new CliError(unreachableMessage(g.redis, reasonOf(err))) : err;
  }
}

/**
 * Runs `fn` with the runtime API connected to the global options' Redis, and
 * always closes the connections afterwards.
 */
export async function withApi<T>(g: GlobalOptions, fn: () => Promise<T>): Promise<T> {
  const close = await connectApi(g);
  try {
    return await fn();
  } finally {
    await close();
  }
}
