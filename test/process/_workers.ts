/**
 * Spawns worker processes (fixtures/worker-main.ts) for the multi-process
 * tests: waits for their `ready` line, kills them by PID, and cleans up every
 * process still alive (SIGKILL) in `killAll()` — call it from an after hook.
 * Not a spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { closeWorkflowClient } from 'workflow-redis/api';
import { startRedis, waitFor, type TestRedis } from '../helpers/redis.js';
import { stepLogKey, type StepRecord } from './fixtures/workflows.js';

const HERE = dirname(fileURLToPath(import.meta.url));
export const ROOT = join(HERE, '..', '..');
export const WORKER_MAIN = join(HERE, 'fixtures', 'worker-main.ts');

export interface WorkerEnv {
  REDIS_URL: string;
  PREFIX: string;
  CONCURRENCY?: number;
  LOCK_MS?: number;
  INLINE_STEPS?: number;
  RECONCILE_MS?: number;
  [k: string]: string | number | undefined;
}

export interface WorkerProcess {
  readonly pid: number;
  readonly proc: ChildProcess;
  /** Lines printed on stdout so far. */
  readonly stdout: string[];
  /** stderr so far (worker warnings, crashes). */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** Sends a signal to the process by PID (no-op once it exited). */
  signal(sig: NodeJS.Signals): void;
}

/** Spawns and tracks worker processes; `killAll()` SIGKILLs whatever is left. */
export class WorkerPool {
  private readonly procs: WorkerProcess[] = [];

  /** Starts a worker process and resolves once it printed `ready`. */
  async spawn(env: WorkerEnv, opts: { readyTimeoutMs?: number } = {}): Promise<WorkerProcess> {
    const childEnv: NodeJS.ProcessEnv = { ...process.env };
    for (const [k, v] of Object.entries(env)) if (v !== undefined) childEnv[k] = String(v);
    childEnv.REDIS_URL_FOR_STEPS ??= env.REDIS_URL;
    const proc = spawn(process.execPath, ['--import', 'tsx', WORKER_MAIN], {
      cwd: ROOT,
      env: childEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stdout: string[] = [];
    let err = '';
    let exitedFlag = false;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      proc.once('exit', (code, signal) => {
        exitedFlag = true;
        resolve({ code, signal });
      });
      proc.once('error', () => {
        exitedFlag = true;
        resolve({ code: null, signal: null });
      });
    });
    let partial = '';
    proc.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      const parts = (partial + chunk).split('\n');
      partial = parts.pop() ?? '';
      stdout.push(...parts);
    });
    proc.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      err += chunk;
      if (err.length > 200_000) err = err.slice(-100_000);
    });
    const wp: WorkerProcess = {
      pid: proc.pid!,
      proc,
      stdout,
      stderr: () => err,
      exited,
      hasExited: () => exitedFlag,
      signal(sig) {
        if (exitedFlag) return;
        try {
          process.kill(proc.pid!, sig);
        } catch {
          /* already gone */
        }
      },
    };
    this.procs.push(wp);
    await waitFor(
      () => {
        if (exitedFlag) throw new Error(`worker exited before ready; stderr:\n${err}`);
        return stdout.some((l) => l.startsWith('ready'));
      },
      { timeoutMs: opts.readyTimeoutMs ?? 30_000, intervalMs: 25, what: `worker ${proc.pid} to print ready` },
    );
    return wp;
  }

  /** SIGKILLs every process still alive and waits for them to exit. */
  async killAll(): Promise<void> {
    for (const p of this.procs) p.signal('SIGKILL');
    await Promise.all(this.procs.map((p) => p.exited));
  }

  /** stderr of all processes (for failure messages). */
  dump(): string {
    return this.procs.map((p) => `--- worker ${p.pid} stdout:\n${p.stdout.join('\n')}\n--- stderr:\n${p.stderr()}`).join('\n');
  }
}

/** Reads a prefix's step log. */
export async function readStepLog(redis: Redis, prefix: string): Promise<StepRecord[]> {
  return (await redis.lrange(stepLogKey(prefix), 0, -1)).map((l) => JSON.parse(l) as StepRecord);
}

/** Groups items by a key. */
export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/**
 * The hooks every process suite needs: a private Redis and a probe connection
 * before, kill every worker and close everything after, dump worker output
 * when a test fails. Call inside `describe`.
 */
export function processSuite(): { pool: WorkerPool; readonly redis: TestRedis; readonly probe: Redis } {
  let redis: TestRedis | undefined;
  let probe: Redis | undefined;
  const pool = new WorkerPool();
  before(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  after(async () => {
    await pool.killAll();
    await closeWorkflowClient();
    probe?.disconnect();
    await redis?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.error(pool.dump());
  });
  return {
    pool,
    get redis() {
      return redis!;
    },
    get probe() {
      return probe!;
    },
  };
}
