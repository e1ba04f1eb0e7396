/**
 * patched() across a deploy, with real worker processes and a real Redis
 * (fixtures/patch-worker.ts, fixtures/patch-workflows.ts):
 * - a run the old code took past the patch point, suspended on a hook, is
 *   replayed by the new code: patched('x') is false there, it keeps the old
 *   branch and records no marker;
 * - a run started on the new code gets true, the new branch and one marker;
 * - after kill -9 of that worker, a fresh process (nothing warm) replays both
 *   the same way and finishes them;
 * - a worker whose code calls patched('y') where the log has marker x fails
 *   the run with a NondeterminismError naming x.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { closeWorkflowClient, configure, getRun, resumeHook, start, WorkflowRunFailedError, type Run, type WorkflowEvent } from 'workflow-redis/api';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { definePatchDemo, patchToken, type PatchCode, type PatchDemoResult } from './fixtures/patch-workflows.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ENTRY = join(HERE, 'fixtures', 'patch-worker.ts');

interface PatchWorker {
  code: PatchCode;
  pid: number;
  proc: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  output(): string;
}

/** The events of a run as `type correlationId` lines, with the step name of step_created. */
async function lines(run: Run<unknown>): Promise<string[]> {
  const events: WorkflowEvent[] = await run.events();
  return events.map((e) => {
    const name = e.type === 'step_created' ? ` ${(e.data as { stepName: string }).stepName}` : '';
    return `${e.type}${e.correlationId ? ` ${e.correlationId}` : ''}${name}`;
  });
}

describe('process: patched() across a deploy (old code, new code, cold restart, contradiction)', function () {
  this.timeout(120_000);
  let redis: TestRedis;
  const workers: PatchWorker[] = [];
  let prefix = '';

  /** Starts a worker process with the code of stage `code`; resolves once it printed `ready`. */
  async function worker(code: PatchCode): Promise<PatchWorker> {
    const proc = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
      cwd: join(HERE, '..', '..'),
      env: { ...process.env, REDIS_URL: redis.url, PREFIX: prefix, PATCH_CODE: code, LOCK_MS: '2000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let gone = false;
    proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      proc.once('exit', (c, signal) => {
        gone = true;
        resolve({ code: c, signal });
      }),
    );
    const w: PatchWorker = { code, pid: proc.pid!, proc, exited, output: () => out };
    workers.push(w);
    await waitFor(
      () => {
        if (gone) throw new Error(`patch worker (${code}) exited before ready:\n${out}`);
        return out.includes(`ready ${proc.pid}`);
      },
      { timeoutMs: 30_000, intervalMs: 25, what: `patch worker (${code}) to print ready` },
    );
    return w;
  }

  /** Waits until the run's log has `line` (a run suspended on its hook `hook_n` has `hook_created hook_n`). */
  async function reaches(run: Run<unknown>, line: string): Promise<string[]> {
    const log = await waitFor(async () => {
      const l = await lines(run);
      return l.includes(line) ? l : undefined;
    }, { timeoutMs: 30_000, what: `${run.runId} to record ${line}` });
    return log!;
  }

  before(async () => {
    redis = await startRedis();
    prefix = uniquePrefix('patch');
    configure({ connection: redis.url, prefix });
  });
  after(async () => {
    for (const w of workers) if (w.proc.exitCode === null && w.proc.signalCode === null) process.kill(w.pid, 'SIGKILL');
    await Promise.all(workers.map((w) => w.exited));
    await closeWorkflowClient();
    await redis?.stop();
  });
  afterEach(function () {
    if (this.currentTest?.state === 'failed') for (const w of workers) console.error(`--- patch worker ${w.pid} (${w.code}):\n${w.output()}`);
  });

  it('old history: false and the old branch; new run: true, one marker; both replay the same in a fresh process; marker x vs patched("y") fails naming x', async () => {
    // Registers the name in this process (start() checks it); the workers run their own code.
    const patchdemo = definePatchDemo('new');

    // 1. The old code takes run r1 past the patch point: it waits on its first hook.
    const a = await worker('old');
    const r1 = await start(patchdemo, ['r1']);
    const oldLog = await reaches(r1, 'hook_created hook_1');
    expect(oldLog).to.include('step_created step_2 patchdemo.old');
    a.proc.kill('SIGTERM');
    expect((await a.exited).code, 'old worker closed gracefully').to.equal(0);

    // 2. The new code replays r1 (a payload wakes it): patched('x') is false there, the old branch stays.
    const b = await worker('new');
    await resumeHook(patchToken('r1', 1), 'r1-first');
    const r1Log = await reaches(r1, 'hook_created hook_2');
    expect(r1Log.filter((l) => l.startsWith('patch_applied')), 'no marker in the old run').to.deep.equal([]);
    expect(r1Log.filter((l) => l.startsWith('step_created'))).to.deep.equal(['step_created step_1 patchdemo.prep', 'step_created step_2 patchdemo.old']);

    // 3. Runs started on the new code: true, the marker right before the new branch's step.
    const r2 = await start(patchdemo, ['r2']);
    const r3 = await start(patchdemo, ['r3']);
    for (const r of [r2, r3]) {
      const log = await reaches(r, 'hook_created hook_1');
      const at = log.indexOf('patch_applied patch:x');
      expect(at, `${r.runId}: marker`).to.be.above(-1);
      expect(log[at + 1]).to.equal('step_created step_2 patchdemo.new');
      expect(log.filter((l) => l.startsWith('patch_applied'))).to.have.length(1);
    }
    await resumeHook(patchToken('r2', 1), 'r2-first');
    await reaches(r2, 'hook_created hook_2');

    // 4. kill -9 of the new worker; a fresh process replays both runs from their logs and finishes them.
    b.proc.kill('SIGKILL');
    expect((await b.exited).signal).to.equal('SIGKILL');
    const b2 = await worker('new');
    await resumeHook(patchToken('r1', 2), 'r1-second');
    await resumeHook(patchToken('r2', 2), 'r2-second');
    const [v1, v2] = await Promise.all([r1.returnValue, r2.returnValue]);
    expect(v1).to.deep.equal({ code: 'new', branch: 'old(prepped:r1)', first: 'r1-first', second: 'r1-second', pid: b2.pid } satisfies PatchDemoResult);
    expect(v2).to.deep.equal({ code: 'new', branch: 'new(prepped:r2)', first: 'r2-first', second: 'r2-second', pid: b2.pid } satisfies PatchDemoResult);
    const done1 = await lines(r1);
    const done2 = await lines(r2);
    expect(done1.filter((l) => l.startsWith('patch_applied'))).to.deep.equal([]);
    expect(done2.filter((l) => l.startsWith('patch_applied')), 'still one marker').to.deep.equal(['patch_applied patch:x']);
    expect(done1.filter((l) => l.startsWith('run_'))).to.deep.equal(['run_created', 'run_started', 'run_completed']);
    expect(done2.filter((l) => l.startsWith('run_'))).to.deep.equal(['run_created', 'run_started', 'run_completed']);

    // 5. Code with the patch renamed to y replays r3 (marker x): the run fails, naming x.
    b2.proc.kill('SIGTERM');
    expect((await b2.exited).code).to.equal(0);
    await worker('renamed');
    await resumeHook(patchToken('r3', 1), 'r3-first');
    const failure = await r3.returnValue.then(
      () => expect.fail('r3 should fail'),
      (err: unknown) => err,
    );
    expect(failure).to.be.instanceOf(WorkflowRunFailedError);
    const { error } = failure as WorkflowRunFailedError;
    expect(error.name).to.equal('NondeterminismError');
    expect(error.message).to.include('patch "x"').and.to.include("patched('y')");
    expect(await getRun(r3.runId).status).to.equal('failed');
    const failedEvent = (await r3.events()).find((e) => e.type === 'run_failed');
    expect((failedEvent?.data as { error: { name: string; message: string } }).error).to.include({ name: 'NondeterminismError', message: error.message });
  });
});
