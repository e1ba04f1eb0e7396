/**
 * Test harness: a private redis-server (from PATH) on a free loopback port per
 * suite, stopped by PID; `REDIS_URL` overrides it. Each test gets its own prefix.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';

export interface TestRedis {
  url: string;
  port: number;
  /** PID of the private server (undefined with REDIS_URL). */
  pid: number | undefined;
  /** Kills the server (SIGKILL) — for fault tests. */
  kill(): void;
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
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

/** Polls `check` until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(check: () => Promise<T> | T, opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`Timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${(last as Error).message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 20));
  }
}

/** Starts a private redis-server, or uses REDIS_URL when set (`args`: extra server flags, e.g. `['--enable-debug-command', 'local']`). */
export async function startRedis(opts: { appendonly?: boolean; dir?: string; port?: number; args?: string[] } = {}): Promise<TestRedis> {
  if (process.env.REDIS_URL && !opts.dir) {
    const url = process.env.REDIS_URL;
    return { url, port: Number(new URL(url).port || 6379), pid: undefined, kill() {}, async stop() {} };
  }
  const port = opts.port ?? (await freePort());
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'wfr-redis-'));
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', opts.appendonly ? 'yes' : 'no', '--maxmemory-policy', 'noeviction'];
  if (opts.appendonly) args.push('--appendfsync', 'always');
  args.push(...(opts.args ?? []));
  const proc: ChildProcess = spawn('redis-server', args, { stdio: 'ignore' });
  let exited = false;
  proc.on('exit', () => (exited = true));
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on('error', () => {});
  await waitFor(async () => {
    if (exited) throw new Error('redis-server exited at start (is it on PATH?)');
    try {
      await probe.connect();
      return (await probe.ping()) === 'PONG';
    } catch {
      probe.disconnect();
      return false;
    }
  }, { timeoutMs: 10_000, what: 'redis-server to start' });
  probe.disconnect();
  return {
    url,
    port,
    pid: proc.pid,
    kill() {
      if (!exited) proc.kill('SIGKILL');
    },
    async stop() {
      if (!exited) {
        proc.kill('SIGTERM');
        await waitFor(() => exited, { timeoutMs: 5000, what: 'redis-server to stop' }).catch(() => proc.kill('SIGKILL'));
      }
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A key prefix unique to one test. */
export function uniquePrefix(label = 't'): string {
  return `${label}-${randomUUID().slice(0, 8)}`;
}
