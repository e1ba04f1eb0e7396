/**
 * Child processes for the packaging tests: every one has a deadline (a hung
 * `npm install` fails the test with its output, it does not hang the suite),
 * and runs in its own process group so that a timeout kills its children too.
 */
import { spawn } from 'node:child_process';

/** What a finished child process printed and how it ended. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Options of {@link exec}. */
export interface ExecOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Killed (whole process group) after this long; the promise then rejects. */
  timeoutMs: number;
  /** Names the step in error messages. */
  label: string;
  /** Said when the step fails or times out (e.g. "is the npm registry reachable?"). */
  hint?: string;
}

const tail = (s: string, n = 3000): string => (s.length > n ? `…${s.slice(-n)}` : s);

/** Runs `cmd args` to completion (no shell); rejects only on timeout or spawn failure. */
export function exec(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const proc = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stderr = '';
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        proc.kill('SIGKILL');
      }
      reject(new Error(`${opts.label}: no result within ${opts.timeoutMs / 1000} s, killed.${opts.hint ? ` ${opts.hint}` : ''}\nstdout: ${tail(stdout)}\nstderr: ${tail(stderr)}`));
    }, opts.timeoutMs);
    proc.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${opts.label}: could not start ${cmd}: ${err.message}`));
    });
    proc.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 });
    });
  });
}

/** {@link exec}, then fails with the output unless the child exited 0. */
export async function execOk(cmd: string, args: string[], opts: ExecOptions): Promise<ExecResult> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${opts.label}: exit ${r.code ?? r.signal}.${opts.hint ? ` ${opts.hint}` : ''}\n$ ${cmd} ${args.join(' ')}\nstdout: ${tail(r.stdout)}\nstderr: ${tail(r.stderr)}`,
    );
  }
  return r;
}

// Settings that npm (running `npm test`) exports to its children and that would
// make a nested npm act on this repository; keep only where npm gets packages.
const KEEP_NPM = /^npm_config_(cache|userconfig|globalconfig|registry|cafile|strict_ssl|(https_|no)?proxy)$/i;

/** process.env without npm's lifecycle variables (npm_package_*, npm_config_local_prefix...). */
export function cleanNpmEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^npm_/i.test(k) && !KEEP_NPM.test(k)) continue;
    if (k === 'INIT_CWD') continue;
    env[k] = v;
  }
  return { ...env, ...extra };
}
