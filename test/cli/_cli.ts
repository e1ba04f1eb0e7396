/**
 * Runs the CLI as a child process, from source:
 * `node --import tsx lib/cli/main.ts ...`.
 * `runCli` waits for the exit; `spawnCli` returns a handle for long-running
 * commands (the worker) that is killed by PID in `killAll()`. Not a spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/redis.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** The repository root (the CLI's working directory). */
export const ROOT = join(HERE, '..', '..');
const MAIN = join('lib', 'cli', 'main.ts');

/** What a finished CLI run printed. */
export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit. */
  ms: number;
}

/** Options of a CLI run. */
export interface CliOptions {
  /** Extra environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** Text written to stdin (then closed). */
  input?: string;
  /** Kill (SIGKILL) after this long. Default 30 s. */
  timeoutMs?: number;
}

function childEnv(extra: CliOptions['env'] = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // The parent's settings must not leak into the child unless a test asks for them.
  delete env.REDIS_URL;
  delete env.WORKFLOW_PREFIX;
  delete env.WORKFLOW_REDIS_DEBUG;
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function launch(args: string[], opts: CliOptions): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    cwd: ROOT,
    env: childEnv(opts.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

/** Runs the CLI to completion. */
export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const t0 = Date.now();
  const proc = launch(args, opts);
  let stdout = '';
  let stderr = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  proc.stdin!.on('error', () => undefined);
  proc.stdin!.end(opts.input ?? '');
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    proc.once('error', reject);
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** A long-running CLI process (the worker). */
export interface CliProcess {
  readonly pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<CliResult>;
  /** Resolves once stdout has a line matching `re`. */
  waitForLine(re: RegExp, timeoutMs?: number): Promise<string>;
  /** Sends a signal by PID (no-op once exited). */
  signal(sig: NodeJS.Signals): void;
}

const live = new Set<ChildProcess>();

/** Starts the CLI without waiting for it to exit. */
export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  const t0 = Date.now();
  const proc = launch(args, opts);
  live.add(proc);
  let out = '';
  let err = '';
  let done = false;
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (err += c));
  proc.stdin!.end();
  const exited = new Promise<CliResult>((resolve) => {
    proc.once('close', (code, signal) => {
      done = true;
      live.delete(proc);
      resolve({ code, signal, stdout: out, stderr: err, ms: Date.now() - t0 });
    });
  });
  return {
    pid: proc.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    async waitForLine(re, timeoutMs = 20_000) {
      return waitFor<string | undefined>(
        () => {
          const line = out.split('\n').find((l) => re.test(l));
          if (line) return line;
          if (done) throw new Error(`the CLI exited (stdout: ${out.trim()}; stderr: ${err.trim()})`);
          return undefined;
        },
        { timeoutMs, what: `a line matching ${re} (stderr so far: ${err.trim().slice(-500)})` },
      ) as Promise<string>;
    },
    signal(sig) {
      if (!done) process.kill(proc.pid!, sig);
    },
  };
}

/** SIGKILLs every CLI process still alive (call from an after hook). */
export function killAll(): void {
  for (const p of live) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  live.clear();
}

/** True when the output contains a stack trace line. */
export function hasStack(text: string): boolean {
  return /^\s+at .+\(?.+:\d+:\d+\)?$/m.test(text);
}
