/**
 * Child processes of the two-process tests: a fixture file run with tsx,
 * its output collected, killed by PID (`killAll()` SIGKILLs whatever is
 * still alive: call it from an after hook). Not a spec file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../helpers/redis.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..', '..');

function signal(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* exited meanwhile */
  }
}

export interface Child {
  readonly pid: number;
  /** stdout and stderr so far, interleaved. */
  output(): string;
  readonly exited: Promise<number | null>;
}

export class Children {
  private readonly procs: { proc: ChildProcess; child: Child; gone: () => boolean }[] = [];

  /** Runs `fixtures/<file>` with `env` added to this process's environment. */
  start(file: string, env: Record<string, string>): Child {
    const proc = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'fixtures', file)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let gone = false;
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<number | null>((resolve) => {
      proc.once('exit', (code) => {
        gone = true;
        resolve(code);
      });
      proc.once('error', () => {
        gone = true;
        resolve(null);
      });
    });
    const child: Child = { pid: proc.pid!, output: () => out, exited };
    this.procs.push({ proc, child, gone: () => gone });
    return child;
  }

  /** Starts a worker fixture and resolves once it printed `ready`. */
  async worker(file: string, env: Record<string, string>): Promise<Child> {
    const w = this.start(file, env);
    let gone = false;
    void w.exited.then(() => (gone = true));
    await waitFor(
      () => {
        if (gone) throw new Error(`${file} exited before ready:\n${w.output()}`);
        return /^ready /m.test(w.output());
      },
      { timeoutMs: 30_000, intervalMs: 25, what: `${file} to print ready` },
    );
    return w;
  }

  /** Runs a fixture to its end and returns its last line of output, parsed as JSON. */
  async once<T>(file: string, env: Record<string, string>): Promise<T> {
    const c = this.start(file, env);
    const code = await c.exited;
    const last = c.output().trim().split('\n').pop() ?? '';
    if (code !== 0) throw new Error(`${file} exited with ${code}:\n${c.output()}`);
    return JSON.parse(last) as T;
  }

  /** SIGKILLs one process by PID and waits for it to exit. */
  async kill(c: Child): Promise<void> {
    const p = this.procs.find((x) => x.child === c);
    if (p && !p.gone()) signal(c.pid);
    await c.exited;
  }

  async killAll(): Promise<void> {
    for (const p of this.procs) if (!p.gone()) signal(p.child.pid);
    await Promise.all(this.procs.map((p) => p.child.exited));
  }

  /** Everything the processes printed (for a failing test). */
  dump(): string {
    return this.procs.map((p) => `--- pid ${p.child.pid}:\n${p.child.output()}`).join('\n');
  }
}
