/**
 * Connecting the runtime API from short-lived host processes (the CLI): a
 * reachability probe, connection descriptions without credentials, and the
 * runtime configured on a connection that gives up quickly.
 *
 * The adapters (lib/cli, lib/integrations) reach Redis only through the
 * runtime, never through lib/redis, lib/queue or ioredis themselves (the
 * layering rules in eslint.config.js); this module is the door they use.
 */
import { Redis } from 'ioredis';
import { describeConnection } from '../redis/connection.js';
import { checkRedis } from '../redis/ready.js';
import { closeWorkflowClient, configure, getStore } from './config.js';

export { checkRedis, describeConnection };

/** Options of {@link configureFailFast}. */
export interface FailFastOptions {
  /** A `redis://` or `rediss://` URL. */
  url: string;
  /** Key prefix (checked by `configure()`). */
  prefix: string;
  /** Deadline of each connection attempt (ms). */
  connectTimeoutMs: number;
  /** The client's connection name (`CLIENT SETNAME`). */
  connectionName: string;
}

/**
 * Configures the runtime API (`getRun`, `listRuns`, `resumeHook`...) on a
 * connection that stops reconnecting after a few tries, so that a Redis lost
 * mid-command fails the command instead of hanging, and opens its store now.
 * Resolves with the function that closes everything; rejects with the
 * connection's error, leaving nothing open, when the store cannot be opened.
 * A lost connection surfaces as the error of the call that hits it.
 */
export async function configureFailFast(opts: FailFastOptions): Promise<() => Promise<void>> {
  const client = new Redis(opts.url, {
    connectTimeout: opts.connectTimeoutMs,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => (times > 2 ? null : 200 * times),
    connectionName: opts.connectionName,
  });
  client.on('error', () => undefined);
  // configure() duplicates the instance (same options) and owns the duplicate.
  configure({ connection: client, prefix: opts.prefix });
  const close = async () => {
    await closeWorkflowClient().catch(() => undefined);
    client.disconnect();
  };
  try {
    // Open the store now, and keep connection errors of its client off stderr.
    (await getStore()).client.on('error', () => undefined);
  } catch (err) {
    await close();
    throw err;
  }
  return close;
}
