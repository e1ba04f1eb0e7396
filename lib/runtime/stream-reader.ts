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
 * `CLIENT UNBLOCK`; with no reader left the connection is closed.
 */
import type { Redis } from 'ioredis';
import { InvalidArgumentError, WorkflowError } from '../errors/errors.js';
import { streamNamespace, type StreamOptions } from '../authoring/streams.js';
import type { Store, StreamEntry } from '../redis/store.js';
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

interface Reader {
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

/** One process's readers of one store's run streams, over one blocking connection. */
export class StreamMux {
  private readonly readers = new Set<Reader>();
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

  private store!: Store;

  /** `openStore`: the store the streams are read from (opened on the first reader). */
  constructor(private readonly openStore: () => Promise<Store>) {}

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

  /**
   * A reader of the run's stream of `namespace`: opens it (a run that ends
   * closes it, even unwritten), then delivers chunks from `startIndex`.
   */
  readable<T>(runId: string, opts: ReadableOptions = {}): ReadableStream<T> {
    return this.entries<T, T>(runId, opts, (_index, value) => value);
  }

  /** {@link readable}, each chunk mapped with its index (the HTTP route's SSE ids). */
  entries<T, R>(runId: string, opts: ReadableOptions, map: (index: number, value: T) => R): ReadableStream<R> {
    const { namespace, startIndex } = checkReadableOptions(opts);
    let reader: Reader | undefined;
    let cancelled = false;
    return new ReadableStream<R>(
      {
        start: async (controller) => {
          this.store ??= await this.openStore();
          const key = this.store.keys.runStream(runId, namespace);
          const { entries, closed } = await this.store.openStream(runId, namespace);
          const chunks = closed ? entries - 1 : entries;
          const r: Reader = {
            key,
            next: startIndex >= 0 ? startIndex : Math.max(0, chunks + startIndex),
            done: false,
            hasRoom: () => (controller.desiredSize ?? 1) > 0,
            queued: () => HIGH_WATER_MARK - (controller.desiredSize ?? HIGH_WATER_MARK),
            push: (list) => {
              for (const e of list) {
                if (r.done || e.index < r.next) continue;
                r.next = e.index + 1;
                if (e.end) {
                  this.remove(r);
                  controller.close();
                  return;
                }
                try {
                  controller.enqueue(map(e.index, deserialize<T>(e.data)));
                } catch (err) {
                  r.fail(err);
                  return;
                }
              }
            },
            fail: (err) => {
              this.remove(r);
              controller.error(err);
            },
          };
          reader = r;
          // Cancelled while it was opened: nothing to hold.
          if (!cancelled) this.add(r);
        },
        // Read from again: take it back into the XREAD if it was left out.
        pull: () => {
          if (reader && !reader.done) this.interrupt();
        },
        cancel: () => {
          cancelled = true;
          if (reader) this.remove(reader);
        },
      },
      { highWaterMark: HIGH_WATER_MARK },
    );
  }

  /** Closes the blocking connection; open readers error. */
  async close(): Promise<void> {
    this.closed = true;
    for (const r of [...this.readers]) r.fail(new WorkflowError('The workflow client was closed (closeWorkflowClient) while a run stream was read.'));
    this.idle?.();
    this.conn?.disconnect();
    this.conn = undefined;
    await this.loop?.catch(() => undefined);
  }

  private add(r: Reader): void {
    if (this.closed) {
      r.fail(new WorkflowError('The workflow client was closed (closeWorkflowClient): configure it again to read run streams.'));
      return;
    }
    this.readers.add(r);
    this.ensureLoop();
    this.interrupt();
  }

  private ensureLoop(): void {
    this.loop ??= this.run().finally(() => {
      this.loop = undefined;
      // A reader added while the loop was ending (after its last check) starts a new one.
      if (this.readers.size > 0 && !this.closed) this.ensureLoop();
    });
  }

  private remove(r: Reader): void {
    if (r.done) return;
    r.done = true;
    this.readers.delete(r);
    this.interrupt();
  }

  /**
   * Wakes the loop: from an idle wait, or from a blocked XREAD (CLIENT UNBLOCK
   * from the command connection). The XREAD may not have reached Redis yet
   * when the UNBLOCK does (two connections): it is sent again until it finds
   * the XREAD blocked, or the XREAD returned.
   */
  private interrupt(): void {
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
        const n = await (this.store.client as Redis).client('UNBLOCK', this.connId).catch(() => 0);
        if (n === 1) return;
        await new Promise((r) => setTimeout(r, 2));
      }
    } finally {
      this.unblocking = false;
    }
  }

  private async connection(): Promise<Redis> {
    if (!this.conn) {
      const conn = (this.store.client as Redis).duplicate({ lazyConnect: true, connectionName: 'workflow-redis-streams' });
      conn.on('error', () => undefined);
      this.conn = conn;
      await conn.connect();
      this.connId = Number(await conn.client('ID'));
    }
    return this.conn;
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
        let reply: [string, [string, string[]][]][] | null;
        try {
          reply = (await conn.xread('COUNT', PAGE, 'BLOCK', BLOCK_MS, 'STREAMS', ...keys, ...ids)) as typeof reply;
        } finally {
          this.blocked = false;
        }
        if (!reply) continue;
        for (const [key, entries] of reply) {
          const parsed = parseStreamChunks(entries);
          for (const r of [...this.readers]) if (r.key === key) r.push(parsed);
        }
      }
    } catch (err) {
      if (!this.closed) for (const r of [...this.readers]) r.fail(err);
    } finally {
      if (this.readers.size === 0 || this.closed) {
        this.conn?.disconnect();
        this.conn = undefined;
        this.connId = undefined;
      }
    }
  }
}
