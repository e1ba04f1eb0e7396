/**
 * One private `redis-server` per data directory, for the demo: two servers
 * writing one append-only file would corrupt it. A lock file in the data
 * directory names the server (pid, port) and the process that owns it; a
 * second launch on the same directory reuses a live server, adopts one whose
 * owner died, takes a stale lock over, and refuses when it cannot tell.
 *
 * This is a development helper, not part of the published package.
 */
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { launchRedis, probe, RedisServerStartError, type LaunchRedisOptions } from './redis-launcher.js';

/** Name of the lock file inside the data directory. */
export const REDIS_LOCK_FILE = 'redis-server.lock.json';

/** Options of {@link launchSharedRedis}. */
export interface SharedRedisOptions extends Omit<LaunchRedisOptions, 'dataDir' | 'port'> {
  /** The data directory (created when missing). One server per directory. */
  dataDir: string;
  /** TCP port on 127.0.0.1 for a new server; a reused server keeps the port it has. */
  port: number;
}

/** A server from {@link launchSharedRedis}. */
export interface SharedRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  port: number;
  /** PID of the redis-server process. */
  pid: number;
  dataDir: string;
  /** How this launch got the server: started it, reused a live one whose owner runs, or adopted one whose owner died. */
  how: 'started' | 'reused' | 'adopted';
  /** Stops the server when this process owns it (`started`, `adopted`) and removes the lock; a reused server is left running. */
  stop(): Promise<void>;
}

/** Thrown when the data directory's server cannot be used or replaced safely. The message says what to do. */
export class RedisDataDirBusyError extends Error {
  override readonly name = 'RedisDataDirBusyError';
}

interface Lock {
  ownerPid: number;
  port: number;
  /** Set once the server answers; absent while the owner is starting it. */
  redisPid?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether `pid` runs redis-server; true when it cannot be told (then nothing is taken over). */
function isRedisServer(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('redis-server');
  } catch {
    try {
      return execFileSync('ps', ['-p', String(pid), '-o', 'comm='], { encoding: 'utf8' }).includes('redis');
    } catch {
      return true;
    }
  }
}

function readLock(path: string): { text: string; lock?: Lock } | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const lock = JSON.parse(text) as Lock;
    if (Number.isInteger(lock.ownerPid) && Number.isInteger(lock.port)) return { text, lock };
  } catch {
    // unreadable: stale
  }
  return { text };
}

/** Creates the lock atomically with its whole content (link fails when it exists). */
function createLock(path: string, lock: Lock): boolean {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(lock));
  try {
    linkSync(tmp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    rmSync(tmp, { force: true });
  }
}

function replaceLock(path: string, lock: Lock): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(lock));
  renameSync(tmp, path);
}

/** Removes the lock only if it still holds `text` (another launch may have replaced it meanwhile). */
function removeLockIf(path: string, text: string): void {
  if (readLock(path)?.text === text) rmSync(path, { force: true });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops a server this process did not spawn (an adopted one): SIGTERM, then SIGKILL after 5 s. */
async function stopPid(pid: number): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 5000;
  while (alive(pid) && Date.now() < deadline) await sleep(50);
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/**
 * The redis-server of `dataDir`: reuses the live one named by the directory's
 * lock file, or starts one on `port` (see `launchRedis`) and records it. A
 * lock whose server is gone is taken over. A server whose owner died is
 * adopted (stopped by this process's `stop()`). Waits (up to
 * `startTimeoutMs`) while another launch is starting the server.
 *
 * @throws RedisDataDirBusyError when a redis-server holds the directory but
 *   does not answer, or another Redis (or program) already listens on `port`.
 * @throws RedisServerNotFoundError, RedisServerStartError as `launchRedis`.
 */
export async function launchSharedRedis(opts: SharedRedisOptions): Promise<SharedRedis> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, REDIS_LOCK_FILE);
  const deadline = Date.now() + (opts.startTimeoutMs ?? 10_000);
  for (;;) {
    if (createLock(path, { ownerPid: process.pid, port: opts.port })) return start(opts, dataDir, path);
    const found = readLock(path);
    if (!found) continue; // removed meanwhile
    const { text, lock } = found;
    if (!lock) {
      removeLockIf(path, text);
      continue;
    }
    const serverUp = lock.redisPid !== undefined && (await probe(lock.port, 1000)) === lock.redisPid;
    if (serverUp) return reuse(path, dataDir, lock);
    const serverAlive = lock.redisPid !== undefined && alive(lock.redisPid) && isRedisServer(lock.redisPid);
    const starting = lock.redisPid === undefined && alive(lock.ownerPid);
    if (!serverAlive && !starting) {
      removeLockIf(path, text); // stale: its server is gone
      continue;
    }
    if (Date.now() >= deadline) {
      throw new RedisDataDirBusyError(
        serverAlive
          ? `redis-server (pid ${lock.redisPid}) holds ${dataDir} but does not answer on 127.0.0.1:${lock.port}. ` +
            `Stop it (kill ${lock.redisPid}) and start again, or use another data directory.`
          : `Another process (pid ${lock.ownerPid}) is starting redis-server in ${dataDir} and it did not come up. ` +
            `Stop that process, or remove ${path} if it is not running.`,
      );
    }
    await sleep(100); // another launch is starting it, or it is loading its AOF
  }
}

async function start(opts: SharedRedisOptions, dataDir: string, path: string): Promise<SharedRedis> {
  let launched;
  try {
    const other = await probe(opts.port, 1000);
    if (other !== undefined) {
      throw new RedisDataDirBusyError(
        `Another Redis (pid ${other}) already listens on 127.0.0.1:${opts.port}. Use it with REDIS_URL=redis://127.0.0.1:${opts.port}, ` +
          'or choose another port for the demo Redis with DEMO_REDIS_PORT.',
      );
    }
    launched = await launchRedis({ ...opts, dataDir, port: opts.port });
  } catch (err) {
    rmSync(path, { force: true });
    if (err instanceof RedisServerStartError && /address already in use/i.test(err.log)) {
      throw new RedisDataDirBusyError(`Port ${opts.port} on 127.0.0.1 is taken by another program: choose another port for the demo Redis with DEMO_REDIS_PORT.`);
    }
    throw err;
  }
  const lock: Lock = { ownerPid: process.pid, port: launched.port, redisPid: launched.pid };
  replaceLock(path, lock);
  const text = JSON.stringify(lock);
  // launchRedis kills the server if this process exits without stop(): the lock goes with it.
  const onExit = () => removeLockIf(path, text);
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  return {
    url: launched.url,
    port: launched.port,
    pid: launched.pid,
    dataDir,
    how: 'started',
    stop: () =>
      (stopping ??= (async () => {
        await launched.stop();
        process.removeListener('exit', onExit);
        removeLockIf(path, text);
      })()),
  };
}

function reuse(path: string, dataDir: string, lock: Lock): SharedRedis {
  const redisPid = lock.redisPid!;
  const url = `redis://127.0.0.1:${lock.port}`;
  if (alive(lock.ownerPid)) {
    return { url, port: lock.port, pid: redisPid, dataDir, how: 'reused', stop: async () => undefined };
  }
  // Its owner died (killed before it could stop it): this process takes it over.
  const adopted: Lock = { ownerPid: process.pid, port: lock.port, redisPid };
  replaceLock(path, adopted);
  const text = JSON.stringify(adopted);
  const onExit = () => {
    if (alive(redisPid)) process.kill(redisPid, 'SIGKILL');
    removeLockIf(path, text);
  };
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  return {
    url,
    port: lock.port,
    pid: redisPid,
    dataDir,
    how: 'adopted',
    stop: () =>
      (stopping ??= (async () => {
        process.removeListener('exit', onExit);
        await stopPid(redisPid);
        removeLockIf(path, text);
      })()),
  };
}
