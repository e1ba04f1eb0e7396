/**
 * Drives the replay engine (Execution) without Redis or a worker, the way
 * the worker does (lib/worker/replay-job.ts, drive.ts), for the specs of
 * test/replay (not a spec file): recorded logs from fixtures/, and logs
 * written by hand with {@link LogBuilder}.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getWorkflow } from '../../lib/authoring/registry.js';
import { DEFAULT_WORKFLOW_VERSION } from '../../lib/domain/route.js';
import { eventOfOp } from '../../lib/redis/events.js';
import type { CommitOp, EventType, StoredEvent } from '../../lib/redis/store-types.js';
import { installDeterminism } from '../../lib/replay/determinism.js';
import { Execution, type Intents } from '../../lib/replay/execution.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';

// Date.now() / Math.random() inside workflow code read the execution (createWorker does this in a worker).
installDeterminism();

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

/** A recorded run: its log as the store returns it, and what a replay needs from the run record. */
export interface Fixture {
  name: string;
  description: string;
  runId: string;
  workflowName: string;
  /** The run's arguments (superjson text, as in the run hash). */
  input: string;
  /** The run's start time (the run hash's startedAt: the replay's first clock). */
  startedAt: number;
  status: 'running' | 'completed' | 'failed';
  /** The run hash's output (superjson text) for a completed run. */
  output?: string;
  /** The run hash's error (JSON text) for a failed run. */
  error?: string;
  /** When the log was read: a suspended run's replay uses it as the real clock. */
  recordedAt: number;
  events: StoredEvent[];
}

export function loadFixture(name: string): Fixture {
  return JSON.parse(readFileSync(join(fixturesDir, `${name}.json`), 'utf8')) as Fixture;
}

export function fixtureNames(): string[] {
  return readdirSync(fixturesDir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => f.slice(0, -'.json'.length))
    .sort();
}

export const PUBLIC_URL = 'http://localhost';

export interface ReplaySpec {
  runId: string;
  workflowName: string;
  startedAt: number;
  fn: (...args: any[]) => unknown;
  args: unknown[];
  inlineLimit?: number;
}

export function newExecution(spec: ReplaySpec): Execution {
  return new Execution({
    runId: spec.runId,
    workflowName: spec.workflowName,
    startedAt: spec.startedAt,
    inlineLimit: spec.inlineLimit ?? 1,
    publicUrl: PUBLIC_URL,
  });
}

/**
 * A cold replay, as processReplayJob does it for a run no worker has warm:
 * begin with the whole log recorded (calls read tokens and resume times
 * ahead from it), then feed it.
 */
export async function replay(spec: ReplaySpec, events: StoredEvent[]): Promise<Execution> {
  const ex = newExecution(spec);
  await ex.begin(spec.fn, spec.args, events);
  await ex.feed(events);
  return ex;
}

/**
 * A warm replay: begin with the first batch, feed it, let the worker look at
 * the intents (it commits them; the log then grows by the next batch), feed
 * the next batch, and so on.
 */
export async function replayInBatches(spec: ReplaySpec, batches: StoredEvent[][], realNow: number): Promise<Execution> {
  const ex = newExecution(spec);
  await ex.begin(spec.fn, spec.args, batches[0] ?? []);
  for (const [i, batch] of batches.entries()) {
    await ex.feed(batch);
    if (i < batches.length - 1) ex.intents(realNow, false);
  }
  return ex;
}

/** The replay spec of a fixture, against the workflow registered under its name now. */
export function fixtureSpec(fx: Fixture): ReplaySpec {
  const wf = getWorkflow(fx.workflowName, DEFAULT_WORKFLOW_VERSION);
  if (!wf) throw new Error(`fixture ${fx.name}: workflow "${fx.workflowName}" is not registered (import _workflows.ts)`);
  return { runId: fx.runId, workflowName: fx.workflowName, startedAt: fx.startedAt, fn: wf.fn, args: deserialize<unknown[]>(fx.input) ?? [] };
}

/** `type correlationId` of each op (readable assertions). */
export function opLines(ops: CommitOp[]): string[] {
  return ops.map((o) => (o.c ? `${o.t} ${o.c}` : o.t));
}

/** Everything observable about an execution once it is quiescent (equal for equivalent replays). */
export function snapshot(ex: Execution, realNow: number): Record<string, unknown> {
  const intents: Intents = ex.intents(realNow, false);
  const outcome =
    ex.outcome.kind === 'returned'
      ? { kind: 'returned', value: serialize(ex.outcome.value) }
      : ex.outcome.kind === 'threw'
        ? { kind: 'threw', name: (ex.outcome.error as Error)?.name, message: (ex.outcome.error as Error)?.message }
        : { kind: 'running' };
  return {
    cursor: ex.cursor,
    consumed: ex.consumed,
    terminal: ex.terminal,
    finished: ex.finished,
    waitsOnOutside: ex.waitsOnOutside,
    now: ex.now(),
    divergence: ex.divergence?.message,
    outcome,
    ops: intents.ops.map(withoutWc),
    inline: intents.inline.map((s) => s.id),
    queued: intents.queued.map((s) => s.id),
    timers: intents.timers.map((w) => `${w.id}@${w.resumeAt}`),
  };
}

/** An op without the worker clock drive.ts stamps on deferred ops. */
function withoutWc(op: CommitOp): Omit<CommitOp, 'wc'> {
  const { wc: _wc, ...rest } = op as CommitOp & { wc?: number };
  return rest;
}

/** A run's log written by hand, in the form the store returns (superjson data, stream ids, server times). */
export class LogBuilder {
  readonly events: StoredEvent[] = [];
  private seq = 0;

  constructor(public at = 1_700_000_000_000) {}

  /** Appends one event `step` ms after the previous one (or at `opts.at`). */
  add(type: EventType, correlationId: string, data: unknown, opts: { at?: number; wc?: number; step?: number } = {}): this {
    const at = opts.at ?? this.at + (opts.step ?? 1);
    if (at < this.at) throw new Error(`LogBuilder: ${type} at ${at} is before the previous event (${this.at})`);
    this.seq = at === this.at ? this.seq + 1 : 0;
    this.at = at;
    const ev: StoredEvent = { eventId: `${at}-${this.seq}`, type, correlationId, data: serialize(data), createdAt: at };
    if (opts.wc !== undefined) ev.wc = opts.wc;
    this.events.push(ev);
    return this;
  }

  runCreated(workflowName: string): this {
    return this.add('run_created', '', { workflowName });
  }
  runStarted(wc?: number): this {
    return this.add('run_started', '', {}, { wc });
  }
  stepCreated(id: string, stepName: string, args: unknown[] = [], mode: 'inline' | 'queue' = 'inline'): this {
    return this.add('step_created', id, { stepName, input: serialize(args, 'args', { argumentList: true }), mode });
  }
  stepStarted(id: string, attempt = 1): this {
    return this.add('step_started', id, { attempt });
  }
  stepCompleted(id: string, result: unknown, opts: { at?: number; wc?: number; step?: number } = {}): this {
    return this.add('step_completed', id, { result }, opts);
  }
  stepFailed(id: string, message: string): this {
    return this.add('step_failed', id, { error: { name: 'FatalError', message } });
  }
  stepRetrying(id: string, message: string, retryAt: number): this {
    return this.add('step_retrying', id, { error: { name: 'Error', message }, retryAt });
  }
  /** step_created, step_started and step_completed of one inline step. */
  step(id: string, stepName: string, args: unknown[], result: unknown): this {
    return this.stepCreated(id, stepName, args).stepStarted(id).stepCompleted(id, result);
  }
  hookCreated(id: string, token: string): this {
    return this.add('hook_created', id, { token, isWebhook: false });
  }
  hookReceived(id: string, payload: unknown, opts: { at?: number; step?: number } = {}): this {
    return this.add('hook_received', id, { payload }, opts);
  }
  hookDisposed(id: string): this {
    return this.add('hook_disposed', id, {});
  }
  waitCreated(id: string, resumeAt: number): this {
    return this.add('wait_created', id, { resumeAt });
  }
  waitCompleted(id: string, resumeAt: number, opts: { at?: number; step?: number } = {}): this {
    return this.add('wait_completed', id, { resumeAt }, opts);
  }
  runCompleted(output: unknown): this {
    return this.add('run_completed', '', { output });
  }
  /** A patch marker, as patched(id) (or deprecatePatch(id), `deprecated`) records it. */
  patchApplied(patchId: string, deprecated = false): this {
    return this.add('patch_applied', `patch:${patchId}`, { patchId, deprecated });
  }
  /** The event commitRun.lua appends for `op` (a step_started is the step's first attempt). */
  op(op: CommitOp): this {
    this.add(op.t, op.c, null);
    const ev = this.events[this.events.length - 1]!;
    this.events[this.events.length - 1] = eventOfOp(op, { id: ev.eventId, createdAt: ev.createdAt, attempt: 1 });
    return this;
  }
}
