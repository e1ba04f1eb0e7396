/**
 * scripts/bench-world.ts: the suite's server (one process per World) and the
 * HTTP client that drives it (invoke, poll GET /runs/:id, resume hooks, read a
 * run's stream).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { BENCH_DIR, now, PARAMS, sleep } from './common.js';

export type Hydrate = (value: Uint8Array, runId: string, key: undefined) => Promise<unknown>;

/** Keeps the last lines a server printed (quoted when it fails). */
export class Tail {
  private lines: string[] = [];
  push(chunk: Buffer): void {
    this.lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
    if (this.lines.length > 40) this.lines.splice(0, this.lines.length - 40);
  }
  text(): string {
    return this.lines.join('\n');
  }
}

// ---------------------------------------------------------------- the suite's server

export interface Server {
  base: string;
  proc: ChildProcess;
  tail: Tail;
  stop(): Promise<void>;
}

/** Starts the suite's server (dist/src/server.mjs) for `target`; resolves once it wrote `{"state":"listening"}` to fd 3. */
export function startServer(target: string, env: NodeJS.ProcessEnv): Promise<Server> {
  const serverPath = join(BENCH_DIR, 'node_modules', '@workflow', 'world-testing', 'dist', 'src', 'server.mjs');
  const proc = spawn(process.execPath, [serverPath], {
    cwd: BENCH_DIR,
    env: { ...env, WORKFLOW_TARGET_WORLD: target, CONTROL_FD: '3' },
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const tail = new Tail();
  proc.stdout!.on('data', (c: Buffer) => tail.push(c));
  proc.stderr!.on('data', (c: Buffer) => tail.push(c));
  let exited = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => ((exited = true), r())));
  const stop = async () => {
    if (exited) return;
    proc.kill('SIGTERM');
    const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(t);
  };
  return new Promise((resolve, reject) => {
    let buf = '';
    const fail = (why: string) => {
      clearTimeout(timer);
      void stop().then(() => reject(new Error(`${why}\nserver output (last lines):\n${tail.text()}`)));
    };
    const timer = setTimeout(() => fail('the server did not report listening within 60 s'), 60_000);
    const fd3 = proc.stdio[3] as NodeJS.ReadableStream;
    fd3.on('data', (c: Buffer) => {
      buf += c.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      const control = JSON.parse(buf.slice(0, nl)) as { state: string; info: { port: number } };
      resolve({ base: `http://127.0.0.1:${control.info.port}`, proc, tail, stop });
    });
    proc.once('exit', (code, signal) => fail(`the server exited during start-up (${signal ?? `exit code ${code}`})`));
  });
}

/** What GET /runs/:id answers (the World's run record; Uint8Array as {__type, data}). */
export interface RunRecord {
  runId: string;
  status: string;
  output?: Uint8Array;
  error?: unknown;
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
}

export class Client {
  /** GET /runs/:id calls made so far. */
  polls = 0;
  constructor(private readonly base: string) {}

  async invoke(file: string, workflow: string, args: unknown[]): Promise<string> {
    const res = await fetch(`${this.base}/invoke`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ file, workflow, args }),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /invoke ${workflow}: ${res.status} ${text.slice(0, 300)}`);
    return (JSON.parse(text) as { runId: string }).runId;
  }

  async getRun(runId: string): Promise<RunRecord | undefined> {
    this.polls++;
    const res = await fetch(`${this.base}/runs/${encodeURIComponent(runId)}`);
    const text = await res.text();
    if (!res.ok) return undefined; // not visible yet (or an error): poll again
    return JSON.parse(text, (_k, v) =>
      v !== null && typeof v === 'object' && v.__type === 'Uint8Array' && typeof v.data === 'string' ? new Uint8Array(Buffer.from(v.data, 'base64')) : v,
    ) as RunRecord;
  }

  async resumeHook(token: string, payload: unknown): Promise<void> {
    const res = await fetch(`${this.base}/hooks/${encodeURIComponent(token)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`POST /hooks/${token}: ${res.status} ${text.slice(0, 300)}`);
  }

  /** Polls GET /runs/:id every `intervalMs` until the run is terminal; resolves the record and the time it was seen. */
  async waitDone(runId: string, intervalMs: number): Promise<{ run: RunRecord; at: number }> {
    const deadline = now() + PARAMS.runTimeoutS * 1000;
    for (;;) {
      const run = await this.getRun(runId);
      const at = now();
      if (run && run.status === 'completed') return { run, at };
      if (run && (run.status === 'failed' || run.status === 'cancelled')) {
        throw new Error(`run ${runId} ${run.status}: ${JSON.stringify(run.error ?? null).slice(0, 500)}`);
      }
      if (at > deadline) throw new Error(`run ${runId} not completed after ${PARAMS.runTimeoutS} s (status ${run?.status ?? 'not found'})`);
      await sleep(intervalMs);
    }
  }
}


/** Reads a run's default stream (GET /runs/:id/readable, JSON lines) and tells when a matching line arrived. */
export class StreamWatch {
  private readonly abort = new AbortController();
  private readonly seen: { obj: any; at: number }[] = [];
  private waiters: { pred: (o: any) => boolean; resolve: (at: number) => void }[] = [];
  private ended: Error | undefined;
  readonly done: Promise<void>;

  constructor(url: string) {
    this.done = this.read(url).catch((err: Error) => {
      if (!this.abort.signal.aborted) this.ended = err;
    });
  }

  private async read(url: string): Promise<void> {
    const res = await fetch(url, { signal: this.abort.signal });
    if (!res.ok || !res.body) throw new Error(`GET ${url}: ${res.status}`);
    const decoder = new TextDecoder();
    let buf = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      const at = now();
      for (const line of lines) {
        let obj: unknown;
        try {
          obj = JSON.parse(line);
        } catch {
          continue;
        }
        this.seen.push({ obj, at });
        this.waiters = this.waiters.filter((w) => (w.pred(obj) ? (w.resolve(at), false) : true));
      }
    }
  }

  /** The time the first line matching `pred` arrived (already or later). */
  async waitFor(pred: (o: any) => boolean, what: string): Promise<number> {
    const hit = this.seen.find((s) => pred(s.obj));
    if (hit) return hit.at;
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        new Promise<number>((resolve) => this.waiters.push({ pred, resolve })),
        this.done.then(() => {
          throw this.ended ?? new Error(`the stream ended before ${what}`);
        }),
        new Promise<number>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no ${what} on the stream after ${PARAMS.runTimeoutS} s`)), PARAMS.runTimeoutS * 1000);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  close(): void {
    this.abort.abort();
  }
}

