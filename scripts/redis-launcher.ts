/**
 * Starts a private `redis-server` (taken from PATH) for the demo and the
 * benchmarks: loopback only, a free port unless one is given, no RDB
 * snapshots, `noeviction`, and optionally an append-only file in a data
 * directory. {@link launchRedis} resolves once the server answers PING.
 *
 * This is a development helper, not part of the published package.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants as fsConstants, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** Options of {@link launchRedis}. */
export interface LaunchRedisOptions {
  /** TCP port on 127.0.0.1. Default: a free port chosen by the OS. */
  port?: number;
  /**
   * Working directory of the server (where the append-only file goes). Created
   * when missing and kept on stop. Default: a fresh temporary directory,
   * removed on stop.
   */
  dataDir?: string;
  /** Turn on the append-only file (`--appendonly yes`) in the data directory. Default false. */
  appendonly?: boolean;
  /** fsync policy of the append-only file. Default `everysec`; ignored without `appendonly`. */
  appendfsync?: 'always' | 'everysec';
  /**
   * Keep the server's log off the terminal. Default true. The last lines of
   * the log are kept either way and quoted in the error when start-up fails.
   */
  quiet?: boolean;
  /** How long to wait for the first PONG, in ms. Default 10 000. */
  startTimeoutMs?: number;
}

/** A running private redis-server, as {@link launchRedis} returns it. */
export interface LaunchedRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** The port it listens on. */
  port: number;
  /** PID of the redis-server process. */
  pid: number;
  /** Its working directory (the append-only file lives here). */
  dataDir: string;
  /**
   * Stops the server: SIGTERM, then SIGKILL if it has not exited within 5 s.
   * Removes the data directory when the launcher created it. Safe to call twice.
   */
  stop(): Promise<void>;
}

const INSTALL_HINT =
  'Set REDIS_URL to an existing Redis (e.g. REDIS_URL=redis://127.0.0.1:6379), ' +
  'or install redis-server: apt-get install redis-server / brew install redis.';

/** Thrown by {@link launchRedis} when no `redis-server` executable is on PATH. */
export class RedisServerNotFoundError extends Error {
  override readonly name = 'RedisServerNotFoundError';
  constructor() {
    super(`redis-server was not found on PATH. ${INSTALL_HINT}`);
  }
}

/** Thrown by {@link launchRedis} when redis-server exits or does not answer PING in time. */
export class RedisServerStartError extends Error {
  override readonly name = 'RedisServerStartError';
  constructor(
    message: string,
    /** The last lines the server logged. */
    readonly log: string,
  ) {
    super(log ? `${message}\nredis-server log (last lines):\n${log}` : message);
  }
}

/** Whether a `redis-server` executable is on PATH. */
export function redisServerOnPath(): boolean {
  const dirs = (process.env.PATH ?? '').split(delimiter).filter(Boolean);
  const exts = process.platform === 'win32' ? (process.env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';').concat('') : [''];
  for (const dir of dirs) {
    for (const ext of exts) {
      const file = join(dir, `redis-server${ext}`);
      try {
        if (!statSync(file).isFile()) continue;
        accessSync(file, fsConstants.X_OK);
        return true;
      } catch {
        // not here
      }
    }
  }
  return false;
}

/** A free TCP port on 127.0.0.1 (the OS picks it; there is a small race until the server binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

/**
 * One probe over a fresh socket: `PING` then `INFO server`. Resolves the
 * `process_id` of the server that answered PONG, or undefined when it is not
 * ready (refused, `-LOADING`, timeout). The PID tells our server apart from
 * another one already listening on the same port.
 */
export function probe(port: number, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const sock = connect({ host: '127.0.0.1', port });
    let buf = '';
    let settled = false;
    const done = (pid: number | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(pid);
    };
    const timer = setTimeout(() => done(undefined), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write('PING\r\nINFO server\r\n'));
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (!buf.includes('\r\n')) return;
      if (!buf.startsWith('+PONG\r\n')) return done(undefined);
      const info = buf.slice('+PONG\r\n'.length);
      if (info.startsWith('-')) return done(undefined);
      const m = /^\$(\d+)\r\n/.exec(info);
      if (!m) return;
      const body = info.slice(m[0].length);
      if (Buffer.byteLength(body, 'utf8') < Number(m[1])) return; // wait for the rest
      const pid = /(?:^|\n)process_id:(\d+)/.exec(body);
      done(pid ? Number(pid[1]) : undefined);
    });
    sock.on('error', () => done(undefined));
    sock.on('close', () => done(undefined));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Keeps the last `max` lines of a stream of text. */
class LogTail {
  private lines: string[] = [];
  private partial = '';
  constructor(private readonly max = 30) {}
  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((l) => l.trim() !== ''));
    if (this.lines.length > this.max) this.lines.splice(0, this.lines.length - this.max);
  }
  text(): string {
    return [...this.lines, this.partial].filter((l) => l.trim() !== '').join('\n');
  }
}

interface Attempt {
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited: () => boolean;
  tail: LogTail;
}

function spawnServer(args: string[], quiet: boolean): Promise<Attempt> {
  return new Promise((resolve, reject) => {
    const tail = new LogTail();
    const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let exitedFlag = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => {
      proc.once('exit', (code, signal) => {
        exitedFlag = true;
        res({ code, signal });
      });
    });
    const onOutput = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      tail.push(text);
      if (!quiet) process.stderr.write(text.replace(/^(?=.)/gm, '[redis] '));
    };
    proc.stdout!.on('data', onOutput);
    proc.stderr!.on('data', onOutput);
    proc.once('error', (err: NodeJS.ErrnoException) => {
      exitedFlag = true;
      reject(err.code === 'ENOENT' ? new RedisServerNotFoundError() : err);
    });
    proc.once('spawn', () => resolve({ proc, exited, hasExited: () => exitedFlag, tail }));
  });
}

/**
 * Starts a private `redis-server` from PATH on 127.0.0.1 and waits (with a
 * deadline) until it answers PING.
 *
 * The server runs with `--save ''` (no RDB snapshots) and
 * `--maxmemory-policy noeviction` (BullMQ requires it), in `dataDir` or a
 * temporary directory. With `appendonly`, it writes an append-only file there
 * with the chosen `appendfsync` policy. When no port is given, a free one is
 * picked (and another is tried if it is taken before the server binds it).
 * The child does not keep the Node process alive, and is killed if the process
 * exits without calling `stop()`.
 *
 * @throws RedisServerNotFoundError when `redis-server` is not on PATH.
 * @throws RedisServerStartError when the server exits early or does not answer in time.
 *
 * @example
 * ```ts
 * const redis = await launchRedis({ quiet: true });
 * configure({ connection: redis.url });
 * // ...
 * await closeWorkflowClient();
 * await redis.stop();
 * ```
 */
export async function launchRedis(opts: LaunchRedisOptions = {}): Promise<LaunchedRedis> {
  if (!redisServerOnPath()) throw new RedisServerNotFoundError();
  const quiet = opts.quiet ?? true;
  const startTimeoutMs = opts.startTimeoutMs ?? 10_000;
  const ownsDir = opts.dataDir === undefined;
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'wfr-redis-'));
  if (!ownsDir) mkdirSync(dataDir, { recursive: true });
  const removeDir = () => {
    if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
  };

  const maxAttempts = opts.port === undefined ? 3 : 1;
  let lastError: Error | undefined;
  for (let attempt = 1; attempt <= maxAttempts; attempt++) {
    const port = opts.port ?? (await freePort());
    const args = [
      '--port', String(port),
      '--bind', '127.0.0.1',
      '--daemonize', 'no',
      '--save', '',
      '--dir', dataDir,
      '--maxmemory-policy', 'noeviction',
      '--appendonly', opts.appendonly ? 'yes' : 'no',
      '--logfile', '',
    ];
    if (opts.appendonly) args.push('--appendfsync', opts.appendfsync ?? 'everysec');

    let server: Attempt;
    try {
      server = await spawnServer(args, quiet);
    } catch (err) {
      removeDir();
      throw err;
    }

    const deadline = Date.now() + startTimeoutMs;
    let up = false;
    while (!server.hasExited() && Date.now() < deadline) {
      const pid = await probe(port, 1000);
      if (pid === server.proc.pid) {
        up = true;
        break;
      }
      await sleep(20); // not up yet, or another server answered on this port (ours will fail to bind and exit)
    }
    if (up && !server.hasExited()) return started(server, port, dataDir, removeDir);

    const log = server.tail.text();
    if (server.hasExited()) {
      const { code, signal } = await server.exited;
      lastError = new RedisServerStartError(
        `redis-server exited during start-up (${signal ? `signal ${signal}` : `exit code ${code}`}) on port ${port}.`,
        log,
      );
      // A free port taken by someone else between our probe and the bind: try another.
      if (/address already in use/i.test(log) && attempt < maxAttempts) continue;
    } else {
      server.proc.kill('SIGKILL');
      await server.exited;
      lastError = new RedisServerStartError(`redis-server did not answer PING on 127.0.0.1:${port} within ${startTimeoutMs} ms.`, log);
    }
    break;
  }
  removeDir();
  throw lastError ?? new RedisServerStartError('redis-server did not start.', '');
}

function started(server: Attempt, port: number, dataDir: string, removeDir: () => void): LaunchedRedis {
  const { proc } = server;
  // The server does not keep this process alive on its own...
  proc.unref();
  (proc.stdout as unknown as { unref?: () => void } | null)?.unref?.();
  (proc.stderr as unknown as { unref?: () => void } | null)?.unref?.();
  // ...and is not left behind as an orphan if this process exits without stop().
  const onExit = () => {
    if (!server.hasExited()) proc.kill('SIGKILL');
    removeDir();
  };
  process.once('exit', onExit);
  let stopping: Promise<void> | undefined;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pid: proc.pid!,
    dataDir,
    stop() {
      stopping ??= (async () => {
        process.removeListener('exit', onExit);
        if (!server.hasExited()) {
          proc.ref(); // keep the process alive until the server has exited
          proc.kill('SIGTERM');
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), 5000)));
          const outcome = await Promise.race([server.exited, timeout]);
          clearTimeout(timer);
          if (outcome === 'timeout') {
            proc.kill('SIGKILL');
            await server.exited;
          }
        }
        removeDir();
      })();
      return stopping;
    },
  };
}
