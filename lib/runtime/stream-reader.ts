/**
 * run.getReadable(): a run's stream as a ReadableStream, backlog then live
 * chunks until its end marker, for any number of readers in a process over
 * ONE blocking connection.
 *
 * The multiplexer keeps, per reader, the index of the next chunk it wants
 * (entry ids are `<index + 1>-0`, see lib/redis/keys.ts runStream) and runs
 * one `XREAD BLOCK` over the streams of every reader that has room: the
 * backlog and the live chunks come the same way, so nothing is lost or
 * duplicated at the edge between them. A reader whose queue is full is left
 * out of the XREAD until it is read from (back-pressure: at most its
 * high-water mark plus one page is held for it). A new reader, a reader that
 * has room again or a cancelled one interrupts the blocked XREAD with
 * `CLIENT UNBLOCK`; with no reader left the connection is closed (or kept,
 * by a source that asks for it).
 *
 * {@link ChunkMux} is that multiplexer for any chunk stream of the layout;
 * {@link StreamMux} is run.getReadable() on it, and the official-SDK
 * World's `streams.get` (lib/world/streams.ts) is another user. The XREAD is
 * in Buffer mode, so a World's byte chunks arrive intact (parseStreamChunks).
 */
import type { Redis } from 'ioredis';
import { InvalidArgumentError, WorkflowError } from '../errors/errors.js';
import { streamNamespace, type StreamOptions } from '../authoring/streams.js';
import type { RawStreamEntry, Store, StreamEntry } from '../redis/store.js';
import { parseStreamChunks } from '../redis/store.js';
import { deserialize } from '../serialization/codec.js';

/** Options of `run.getReadable()`. */
export interface ReadableOptions extends StreamOptions {
  /** The first chunk to read: 0 (default) is the first one written; -n starts n chunks before the end. */
  startIndex?: number;
}

/** The namespace ('' = main) and start index of `opts`; InvalidArgumentError when they are not valid. */
export function checkReadableOptions(opts: ReadableOptions = {}): { namespace: string; startIndex: number } {
  const namespace = streamNamespace(opts, 'run.getReadable');
  const startIndex = opts.startIndex ?? 0;
  if (!Number.isSafeInteger(startIndex)) {
    throw new InvalidArgumentError(`run.getReadable({ startIndex }): use an integer (0 = the first chunk, -n = n chunks before the end), got ${String(startIndex)}.`);
  }
  return { namespace, startIndex };
}

/** Chunks read per stream per XREAD. */
const PAGE = 100;
/** Chunks a reader may hold unread before it is left out of the XREAD. */
const HIGH_WATER_MARK = 100;
/** The XREAD's BLOCK, ms: a timeout bounds how long a lost CLIENT UNBLOCK could leave a reader waiting. */
const BLOCK_MS = 10_000;

/**
 * One reader of a {@link ChunkMux}: the stream key it reads and the index of
 * the next entry it reads; the mux calls `push` with the entries it read
 * (possibly some before `next`, which the reader skips). A reader that
 * starts past the stream's end reads from the end and skips the chunks
 * before its start itself, so that an end marker before its start ends it.
 */
export interface ChunkReader {
  key: string;
  next: number;
  push(entries: StreamEntry[]): void;
  /** Room for more chunks (desiredSize > 0). */
  hasRoom(): boolean;
  /** Chunks delivered to it and not read yet. */
  queued(): number;
  fail(err: unknown): void;
  done: boolean;
}

/**
 * The {@link ChunkReader} of a ReadableStream's controller: entries from
 * `next` on (each once), chunks before `first` skipped, the end marker
 * closes the stream; `deliver` enqueues one chunk (a throw fails the reader).
 */
export function controllerReader<R>(
  mux: ChunkMux,
  key: string,
  range: { first: number; next: number },
  controller: ReadableStreamDefaultController<R>,
  highWaterMark: number,
  deliver: (index: number, data: string | Uint8Array) => void,
): ChunkReader {
  const r: ChunkReader = {
    key,
    next: range.next,
    done: false,
    hasRoom: () => (controller.desiredSize ?? 1) > 0,
    queued: () => highWaterMark - (controller.desiredSize ?? highWaterMark),
    push: (list) => {
      for (const e of list) {
        if (r.done || e.index < r.next) continue;
        r.next = e.index + 1;
        if (e.end) {
          mux.remove(r);
          controller.close();
          return;
        }
        if (e.index < range.first) continue;
        try {
          deliver(e.index, e.data);
        } catch (err) {
          r.fail(err);
          return;
        }
      }
    },
    fail: (err) => {
      mux.remove(r);
      controller.error(err);
    },
  };
  return r;
}

/** Where a {@link ChunkMux} reads from. */
export interface ChunkMuxSource {
  /** The command connection: CLIENT UNBLOCK goes there (called once a reader exists). */
  client(): Redis;
  /** Opens the blocking connection (default: a duplicate of `client()`). */
  open?(): Redis;
  /**
   * Keep the blocking connection open while no reader is left (default:
   * close it, and open another for the next reader). Readers that come and
   * go by the hundred (the official runtime's abort streams) then cost no
   * connection each.
   */
  keepConnection?: boolean;
}

/**
 * Any number of readers of chunk streams (entry ids `<index + 1>-0`) over
 * one blocking connection, as described at the top of this file. Readers
 * are added and removed by their owners; entries come parsed by
 * parseStreamChunks from an `XREAD` in Buffer mode (a World's byte chunks
 * intact, native chunks as text).
 */
export class ChunkMux {
  private readonly readers = new Set<ChunkReader>();
  private conn: Redis | undefined;
  private connId: number | undefined;
  private loop: Promise<void> | undefined;
  private blocked = false;
  /** Bumped by every interrupt; the XREAD in flight was built at blockGen. */
  private gen = 0;
  private blockGen = 0;
  private unblocking = false;
  private idle: (() => void) | undefined;
  private closed = false;

  constructor(private readonly source: ChunkMuxSource) {}

  /** Readers open now (tests, metrics). */
  get size(): number {
    return this.readers.size;
  }

  /** Chunks delivered to open readers and not read yet (back-pressure keeps it near HIGH_WATER_MARK + PAGE per reader). */
  get buffered(): number {
    let n = 0;
    for (const r of this.readers) n += r.queued();
    return n;
  }

  /** Has {@link close} been called? */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts delivering to `r`; `closedError` fails it at once if the mux is closed. */
  add(r: ChunkReader, closedError: () => unknown): void {
    if (this.closed) {
      r.fail(closedError());
      return;
    }
    this.readers.add(r);
    this.ensureLoop();
    this.interrupt();
  }

  /** Stops delivering to `r` (ended, failed or cancelled); idempotent. */
  remove(r: ChunkReader): void {
    if (r.done) return;
    r.done = true;
    this.readers.delete(r);
    this.interrupt();
  }

  /** Closes the blocking connection; open readers fail with `err`. */
  async close(err: () => unknown): Promise<void> {
    this.closed = true;
    for (const r of [...this.readers]) r.fail(err());
    this.idle?.();
    this.conn?.disconnect();
    this.conn = undefined;
    await this.loop?.catch(() => undefined);
  }

  private ensureLoop(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      // A reader added while the loop was ending (after its last check) starts a new one.
      if (this.readers.size > 0 && !this.closed) this.ensureLoop();
    });
  }

  /**
   * Wakes the loop: from an idle wait, or from a blocked XREAD (CLIENT UNBLOCK
   * from the command connection). The XREAD may not have reached Redis yet
   * when the UNBLOCK does (two connections): it is sent again until it finds
   * the XREAD blocked, or the XREAD returned. Also called by a reader read
   * from again, to take it back into the XREAD.
   */
  interrupt(): void {
    this.gen++;
    if (this.idle) {
      const wake = this.idle;
      this.idle = undefined;
      wake();
    }
    if (this.blocked && !this.unblocking) void this.unblock();
  }

  private async unblock(): Promise<void> {
    this.unblocking = true;
    try {
      for (let i = 0; i < 50 && this.blocked && this.blockGen < this.gen && this.connId !== undefined; i++) {
        const n = await this.source.client().client('UNBLOCK', this.connId).catch(() => 0);
        if (n === 1) return;
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      this.unblocking = false;
    }
  }

  private async connection(): Promise<Redis> {
    let conn = this.conn;
    if (!conn) {
      const c = this.source.open?.() ?? this.source.client().duplicate({ lazyConnect: true, connectionName: 'workflow-redis-streams' });
      c.on('error', () => undefined);
      // A reconnect gives the connection another id: ask again before the next XREAD.
      c.on('close', () => {
        if (this.conn === c) this.connId = undefined;
      });
      this.conn = conn = c;
      if (c.status === 'wait') await c.connect();
    }
    this.connId ??= Number(await conn.client('ID'));
    return conn;
  }

  private async run(): Promise<void> {
    try {
      while (this.readers.size > 0 && !this.closed) {
        this.blockGen = this.gen;
        const wanted = new Map<string, number>();
        for (const r of this.readers) {
          if (!r.hasRoom()) continue;
          const at = wanted.get(r.key);
          if (at === undefined || r.next < at) wanted.set(r.key, r.next);
        }
        if (wanted.size === 0) {
          // Every reader is full: wait until one is read from (pull) or goes.
          await new Promise<void>((resolve) => (this.idle = resolve));
          continue;
        }
        const conn = await this.connection();
        // Something changed while the connection opened: look again before blocking.
        if (this.blockGen < this.gen) continue;
        const keys = [...wanted.keys()];
        // An entry id after `<next>-0` is the chunk of index `next` or later.
        const ids = keys.map((k) => `${wanted.get(k)!}-0`);
        this.blocked = true;
        let reply: [Buffer, RawStreamEntry[]][] | null;
        try {
          reply = (await conn.xreadBuffer('COUNT', PAGE, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as unknown as typeof reply;
        } finally {
          this.blocked = false;
        }
        if (!reply) continue;
        for (const [rawKey, entries] of reply) {
          const key = rawKey.toString();
          const parsed = parseStreamChunks(entries);
          if (parsed.length === 0) continue;
          // Entries are dense from the first: a reader left out of this XREAD (full)
          // and behind it would see a gap, so it waits for its own next read.
          const first = parsed[0]!.index;
          for (const r of [...this.readers]) if (r.key === key && r.next >= first) r.push(parsed);
        }
      }
    } catch (err) {
      if (!this.closed) for (const r of [...this.readers]) r.fail(err);
    } finally {
      if (this.closed || (this.readers.size === 0 && !this.source.keepConnection)) {
        this.conn?.disconnect();
        this.conn = undefined;
        this.connId = undefined;
      }
    }
  }
}

/** One process's readers of one store's run streams (run.getReadable), over one blocking connection. */
export class StreamMux {
  private store!: Store;
  private readonly mux = new ChunkMux({ client: () => this.store.client as Redis });

  /** `openStore`: the store the streams are read from (opened on the first reader). */
  constructor(private readonly openStore: () => Promise<Store>) {}

  /** Readers open now (tests, metrics). */
  get size(): number {
    return this.mux.size;
  }

  /** Chunks delivered to open readers and not read yet (back-pressure keeps it near HIGH_WATER_MARK + PAGE per reader). */
  get buffered(): number {
    return this.mux.buffered;
  }

  /**
   * A reader of the run's stream of `namespace`: opens it (a run that ends
   * closes it, even unwritten), then delivers chunks from `startIndex`.
   */
  readable<T>(runId: string, opts: ReadableOptions = {}): ReadableStream<T> {
    return this.entries<T, T>(runId, opts, (_index, value) => value);
  }

  /**
   * {@link readable}, each chunk mapped with its index (the HTTP route's SSE
   * ids). A chunk an official-SDK World wrote (bytes) comes as a Uint8Array.
   */
  entries<T, R>(runId: string, opts: ReadableOptions, map: (index: number, value: T) => R): ReadableStream<R> {
    const { namespace, startIndex } = checkReadableOptions(opts);
    let reader: ChunkReader | undefined;
    let cancelled = false;
    const mux = this.mux;
    return new ReadableStream<R>(
      {
        start: async (controller) => {
          this.store ??= await this.openStore();
          const key = this.store.keys.runStream(runId, namespace);
          const { entries, closed } = await this.store.openStream(runId, namespace);
          const chunks = closed ? entries - 1 : entries;
          const first = startIndex >= 0 ? startIndex : Math.max(0, chunks + startIndex);
          // Read from the end at most, skipping chunks up to `first`: an end marker
          // before `first` (now or later) still ends the reader.
          const r = controllerReader(mux, key, { first, next: Math.min(first, chunks) }, controller, HIGH_WATER_MARK, (index, data) => {
            const value = typeof data === 'string' ? deserialize<T>(data) : (data as T);
            controller.enqueue(map(index, value));
          });
          reader = r;
          // Cancelled while it was opened: nothing to hold.
          if (!cancelled) mux.add(r, () => new WorkflowError('The workflow client was closed (closeWorkflowClient): configure it again to read run streams.'));
        },
        // Read from again: take it back into the XREAD if it was left out.
        pull: () => {
          if (reader && !reader.done) mux.interrupt();
        },
        cancel: () => {
          cancelled = true;
          if (reader) mux.remove(reader);
        },
      },
      { highWaterMark: HIGH_WATER_MARK },
    );
  }

  /** Closes the blocking connection; open readers error. */
  async close(): Promise<void> {
    await this.mux.close(() => new WorkflowError('The workflow client was closed (closeWorkflowClient) while a run stream was read.'));
  }
}
