/**
 * The demo's start-up checks, each failing with one line that says what to
 * do (a {@link DemoStartError}, printed without a stack): its settings from
 * the environment, the HTTP port (held before Redis or a worker start), and
 * a reachable Redis.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkRedis as checkRedisReachable, RedisUnavailableError } from 'workflow-redis/api';

/** A start-up failure of the demo; its message is the whole explanation. */
export class DemoStartError extends Error {
  override readonly name = 'DemoStartError';
}

/** Port of the demo's own redis-server: fixed, so the CLI can be pointed at it; not 6379, which a system Redis may hold. */
export const DEFAULT_DEMO_REDIS_PORT = 6390;

/** The demo's settings, from the environment. */
export interface DemoSettings {
  /** `PORT` (default 3000; 0 picks a free one). */
  port: number;
  /** `PUBLIC_URL`, when set; otherwise it follows the port the server got. */
  publicUrl?: string;
  /** `DEMO_WORKER`: run a worker in the demo process (default on; docker compose turns it off). */
  worker: boolean;
  /** `REDIS_URL`, when set. */
  redisUrl?: string;
  /** `DEMO_REDIS_PORT` of the demo's own redis-server (default 6390). */
  redisPort: number;
  /** `DEMO_DATA_DIR` of the demo's own redis-server (default `.data/redis`). */
  dataDir: string;
}

function envPort(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < min || n > 65_535) throw new DemoStartError(`${name}=${JSON.stringify(raw)} is not a TCP port: use a number from ${min} to 65535.`);
  return n;
}

function envFlag(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const raw = env[name]?.trim().toLowerCase();
  if (!raw) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new DemoStartError(`${name}=${JSON.stringify(env[name])}: use 1 (on) or 0 (off).`);
}

/** Reads the demo's settings; throws a {@link DemoStartError} for a malformed value. */
export function demoSettings(env: NodeJS.ProcessEnv = process.env): DemoSettings {
  return {
    port: envPort(env, 'PORT', 3000, 0),
    publicUrl: env.PUBLIC_URL?.trim() || undefined,
    worker: envFlag(env, 'DEMO_WORKER', true),
    redisUrl: env.REDIS_URL?.trim() || undefined,
    redisPort: envPort(env, 'DEMO_REDIS_PORT', DEFAULT_DEMO_REDIS_PORT, 1),
    dataDir: env.DEMO_DATA_DIR?.trim() || '.data/redis',
  };
}

/** A Redis URL without its password, for messages. */
export function safeRedisUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** An HTTP server that holds the port from the start and serves 503 until {@link HeldPort.serve} gets the app. */
export interface HeldPort {
  server: Server;
  /** The port it listens on (the one the OS chose for `PORT=0`). */
  port: number;
  serve(handler: (req: IncomingMessage, res: ServerResponse) => void): void;
}

/**
 * Listens on `port` before anything else starts, so a busy port fails the
 * demo at once rather than after it has started Redis and a worker (Express
 * 5's `app.listen` hands EADDRINUSE to its callback, which looks like success).
 */
export async function holdPort(port: number): Promise<HeldPort> {
  let handler = (_req: IncomingMessage, res: ServerResponse): void => {
    res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' }).end('The demo is starting.\n');
  };
  const server = createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new DemoStartError(`Port ${port} is already in use (another demo or app?). Stop it, or choose another port: PORT=${port < 65_535 ? port + 1 : 3000} npm start`));
      } else if (err.code === 'EACCES') {
        reject(new DemoStartError(`Port ${port} needs privileges this process does not have: choose a port above 1023, e.g. PORT=3000 npm start`));
      } else {
        reject(new DemoStartError(`Cannot listen on port ${port}: ${err.code ?? err.message}`));
      }
    });
    server.listen(port, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port, serve: (h) => void (handler = h) };
}

/**
 * Fails within `timeoutMs` (plus a little) unless the Redis at `url` answers
 * PING (the library's own check: one attempt, no retries, no stack traces).
 */
export async function checkRedis(url: string, timeoutMs = 3000): Promise<void> {
  try {
    await checkRedisReachable(url, { timeoutMs });
  } catch (err) {
    const reason = RedisUnavailableError.is(err) ? err.reason : (err as Error).message;
    throw new DemoStartError(
      `Cannot reach Redis at ${safeRedisUrl(url)} (${reason}). Start that Redis or fix REDIS_URL; ` +
        'without REDIS_URL the demo starts its own redis-server.',
    );
  }
}
