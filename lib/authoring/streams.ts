/**
 * getWritable(): durable streams a step writes to (progress, AI tokens...),
 * read live with `run.getReadable()` (lib/runtime/stream-reader.ts).
 *
 * In a step, the stream's chunks are appended to one Redis stream per run and
 * namespace (lib/redis/lua/appendChunks.lua). Writes are batched: `write()`
 * checks and serialises the chunk at once (a chunk over the payload limits is
 * refused there, and nothing of it is appended) and resolves when it is
 * queued; the queued chunks go to Redis in one call per batch, and all of them
 * are stored before `close()` resolves and before the step's result is
 * recorded. Chunks are at least once: a step retried after writing writes
 * again (see README "Streams").
 *
 * In workflow code, getWritable() returns a handle to pass to steps as an
 * argument (it serialises as the run id and namespace); workflow code itself
 * cannot write, since a replay would write again.
 */
import { InvalidArgumentError, WorkflowError } from '../errors/errors.js';
import { currentExecution, stepStorage, type StepContext, type StepStreams } from '../replay/context.js';
import { serializeLimited } from '../serialization/codec.js';
import { superjson } from '../serialization/superjson.js';

/** Options of {@link getWritable} and `run.getReadable()`. */
export interface StreamOptions {
  /**
   * Which of the run's streams: 1-100 letters, digits or `_ . : / @ -`.
   * Default: the run's main stream.
   */
  namespace?: string;
}

/** Chunks queued in one writer before `write()` waits for a batch to be stored (back-pressure; bounds the latency too). */
const MAX_QUEUED_CHUNKS = 256;
/** Most chunks (and about the most bytes) sent in one append call. */
const BATCH_CHUNKS = 128;
const BATCH_BYTES = 1024 * 1024;

const NAMESPACE_RE = /^[A-Za-z0-9_.:/@-]{1,100}$/;

/** The namespace of `opts` ('' = the main stream); InvalidArgumentError for anything else than a valid name. */
export function streamNamespace(opts: StreamOptions | undefined, fn: string): string {
  if (opts === undefined) return '';
  if (opts === null || typeof opts !== 'object') throw new InvalidArgumentError(`${fn}(opts): opts must be an object like { namespace: 'progress' }.`);
  const ns = opts.namespace;
  if (ns === undefined) return '';
  if (typeof ns !== 'string' || !NAMESPACE_RE.test(ns)) {
    throw new InvalidArgumentError(
      `${fn}({ namespace }): ${JSON.stringify(ns) ?? String(ns)} is not a namespace: use 1-100 letters, digits or '_ . : / @ -' (or omit it for the run's main stream).`,
    );
  }
  return ns;
}

/** A run's stream, as workflow code holds it: pass it to a step, which writes to it. */
class StreamHandle {
  constructor(
    readonly runId: string,
    readonly namespace: string,
  ) {}
}

const HANDLE = Symbol('workflow-redis stream handle');
type WithHandle = { [HANDLE]?: StreamHandle };

/**
 * Returns a writable stream of the current run (`namespace`: one of its
 * streams; default its main stream).
 *
 * - In a step: each chunk written is appended to the stream durably (see the
 *   module notes: batched, all stored before the step's result is recorded or
 *   `close()` resolves); `close()` ends the stream for its readers. A chunk is
 *   serialised like a hook payload (same size and depth limits; strings and
 *   `Uint8Array` round-trip exactly); one over the limits makes `write()`
 *   reject with PayloadTooLargeError or PayloadTooDeepError and nothing of it
 *   is appended. Writing to a closed stream rejects with StreamClosedError.
 * - In workflow code: a handle to pass to a step as an argument (the step
 *   writes); writing to it from workflow code rejects with a WorkflowError
 *   saying to write from a step.
 *
 * @throws InvalidArgumentError for an invalid namespace; WorkflowError outside a workflow and its steps.
 */
export function getWritable<T = unknown>(opts?: StreamOptions): WritableStream<T> {
  const namespace = streamNamespace(opts, 'getWritable');
  const step = stepStorage.getStore();
  if (step) return stepWritable<T>(step.workflow.workflowRunId, namespace);
  const ex = currentExecution();
  if (ex) return workflowHandle<T>(new StreamHandle(ex.runId, namespace));
  throw new WorkflowError('getWritable() can only be called in a workflow function or in a step it calls: a stream belongs to a run.');
}

/** The handle workflow code gets: a WritableStream that refuses writes, serialised as its run and namespace. */
function workflowHandle<T>(handle: StreamHandle): WritableStream<T> {
  const refuse = () => {
    throw new WorkflowError(
      'Workflow code cannot write to a stream (a replay would write it again): pass getWritable() to a step as an argument and write there.',
    );
  };
  const ws = new WritableStream<T>({ write: refuse, close: refuse });
  (ws as WithHandle)[HANDLE] = handle;
  return ws;
}

/** A writable of the run's stream bound to the step running when it is written to. */
function stepWritable<T>(runId: string, namespace: string): WritableStream<T> {
  let writer: ChunkWriter | undefined;
  const current = (): ChunkWriter => {
    const step = stepStorage.getStore();
    if (!step?.streams) throw new WorkflowError('A run\'s stream can only be written from a step run by a workflow-redis worker.');
    if (!writer || writer.step !== step) writer = new ChunkWriter(step, step.streams, runId, namespace);
    return writer;
  };
  const ws = new WritableStream<T>({
    write: (chunk) => current().write(chunk),
    close: () => current().close(),
  });
  (ws as WithHandle)[HANDLE] = new StreamHandle(runId, namespace);
  return ws;
}

/** Queues one step's chunks for one stream and appends them in batches. */
class ChunkWriter {
  private queued: string[] = [];
  private flushing: Promise<void> | undefined;
  private failure: unknown;
  /** Writers waiting for room in the queue: woken after each batch. */
  private roomWaiters: (() => void)[] = [];

  constructor(
    readonly step: StepContext,
    private readonly streams: StepStreams,
    private readonly runId: string,
    private readonly namespace: string,
  ) {
    streams.writers.add(this);
  }

  async write(chunk: unknown): Promise<void> {
    if (this.failure) throw this.failure;
    const { maxPayloadBytes, maxPayloadDepth } = this.streams.limits();
    const data = serializeLimited(chunk, maxPayloadBytes, 'stream chunk', { maxDepth: maxPayloadDepth });
    this.queued.push(data);
    // The first chunk waits for the end of this turn of the event loop: what the step writes meanwhile goes in the same call.
    this.flushing ??= new Promise<void>((r) => setImmediate(r)).then(() => this.drain());
    if (this.queued.length >= MAX_QUEUED_CHUNKS) {
      await new Promise<void>((r) => this.roomWaiters.push(r));
      if (this.failure) throw this.failure;
    }
  }

  private wakeWriters(): void {
    const waiting = this.roomWaiters;
    this.roomWaiters = [];
    for (const wake of waiting) wake();
  }

  async close(): Promise<void> {
    await this.flush();
    await this.append([], true);
    this.streams.writers.delete(this);
  }

  /** Resolves once every chunk queued so far is stored (rejects with the append's error). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.failure) throw this.failure;
  }

  private async drain(): Promise<void> {
    try {
      while (this.queued.length > 0 && !this.failure) {
        let n = 0;
        let bytes = 0;
        while (n < this.queued.length && n < BATCH_CHUNKS && (n === 0 || bytes + this.queued[n]!.length <= BATCH_BYTES)) bytes += this.queued[n++]!.length;
        const batch = this.queued.splice(0, n);
        await this.append(batch, false);
        this.wakeWriters();
      }
    } catch (err) {
      this.failure = err;
    } finally {
      this.flushing = undefined;
      this.wakeWriters();
    }
  }

  private append(chunks: string[], close: boolean): Promise<unknown> {
    const { stepId, attempt } = this.step.step;
    return this.streams.append(this.runId, this.namespace, { stepId, attempt }, chunks, close);
  }
}

/**
 * Stores every chunk the step's writers queued (the step runner calls it
 * before recording the result); undefined when the step wrote nothing, so
 * that the usual step awaits nothing more.
 */
export function flushStepStreams(streams: StepStreams | undefined): Promise<unknown> | undefined {
  if (!streams || streams.writers.size === 0) return undefined;
  return Promise.all([...streams.writers].map((w) => w.flush()));
}

// A stream passed between workflow code and steps travels as its run and namespace; on the
// reading side it is a writable of that stream (bound, when written to, to the running step).
superjson.registerCustom<WritableStream, { runId: string; namespace: string }>(
  {
    isApplicable: (v): v is WritableStream => typeof WritableStream !== 'undefined' && v instanceof WritableStream && (v as WithHandle)[HANDLE] !== undefined,
    serialize: (v) => {
      const h = (v as WithHandle)[HANDLE]!;
      return { runId: h.runId, namespace: h.namespace };
    },
    // Writable only from a step (checked when written to: a step's arguments are read before it runs).
    deserialize: ({ runId, namespace }) => stepWritable(runId, namespace),
  },
  'workflow-redis:stream',
);
