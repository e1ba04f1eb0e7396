/**
 * The official runtime's streams (`world.streams.*`) on the native stream
 * storage: a stream is `{prefix}:run:<runId>:stream:<name>` with entry ids
 * `<index + 1>-0`, listed in the run's streams hash so that the run's end
 * closes it and gives it the run's retention, as native streams are. Chunks
 * are opaque bytes, stored raw and marked as such (lib/redis/lua/wdkStream.lua),
 * so native tooling (run.getReadable, `runs tail`) reads them as Uint8Arrays.
 *
 * `get` is live: every reader of the World shares one blocking connection
 * (ChunkMux, lib/runtime/stream-reader.ts), which reads the backlog and the
 * live chunks with the same XREAD, so none is lost or duplicated at the edge
 * between them. The connection is kept while no reader is open: the runtime
 * opens and cancels a reader per abort signal and per health-check poll.
 *
 * Each chunk `get` delivers owns its memory (the runtime's byte streams may
 * transfer it); an empty chunk is kept by getChunks but not delivered by
 * `get` (a byte stream cannot enqueue one; world-local skips them too).
 *
 * Writes to a closed stream (after `close`, or after the run finished) are
 * refused, writing nothing: EntityConflictError for a closed stream,
 * RunExpiredError for a finished run. Closing twice is a no-op.
 */
import type { Redis } from 'ioredis';
import { EntityConflictError, RunExpiredError, WorkflowWorldError } from '@workflow/errors';
import type { GetChunksOptions, StreamChunk, StreamChunksResponse, StreamInfoResponse, Streamer } from '@workflow/world';
import { parseStreamChunks, type RawStreamEntry } from '../redis/store.js';
import { ChunkMux, controllerReader, type ChunkReader } from '../runtime/stream-reader.js';
import type { WorldContext } from './context.js';

/** The World's `streams` member, plus closing its readers. */
export interface WorldStreamsParts {
  streams: Streamer['streams'];
  /** Live readers open now (tests, metrics). */
  readonly readers: number;
  /** Ends every live reader (it errors) and frees its connection. */
  close(): Promise<void>;
}

/**
 * How long a stream of a run that does not exist is kept after its last
 * write: the runtime's health checks write to fake run ids and read the
 * answer within seconds, and nothing else should write to an unknown run.
 */
export const ORPHAN_STREAM_TTL_MS = 60 * 60 * 1000;
/** Chunks a live reader may hold unread before it is left out of the XREAD (back-pressure). */
const HIGH_WATER_MARK = 100;
const DEFAULT_PAGE = 100;
const MAX_PAGE = 1000;

type Mode = 'w' | 'c' | 'o';

function fail(message: string): never {
  throw new WorkflowWorldError(message, { status: 400 });
}

function checkTarget(fn: string, runId: unknown, name: unknown): asserts runId is string {
  if (typeof runId !== 'string' || runId === '') fail(`streams.${fn}(runId, name): runId must be a non-empty string (the run's id), got ${describe(runId)}.`);
  if (typeof name !== 'string' || name === '') fail(`streams.${fn}(runId, name): name must be a non-empty string (the stream's name), got ${describe(name)}.`);
}

function describe(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  return v === null ? 'null' : typeof v;
}

/** A chunk as a script argument: the UTF-8 bytes of a string, a Uint8Array as it is (no copy). */
function chunkArg(fn: string, chunk: unknown, at?: number): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8');
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const where = at === undefined ? 'chunk' : `chunks[${at}]`;
  return fail(`streams.${fn}: ${where} must be a string or a Uint8Array, got ${describe(chunk)}; nothing was written.`);
}

/** getChunks' cursor: the index of the next chunk, in decimal. */
function parseCursor(cursor: unknown): number {
  if (cursor === undefined || cursor === null) return 0;
  if (typeof cursor === 'string' && /^(0|[1-9][0-9]{0,14})$/.test(cursor)) return Number(cursor);
  return fail(`streams.getChunks({ cursor }): ${describe(cursor)} is not a cursor of this World: pass the cursor of the previous page as it was, or none for the first page.`);
}

function parseLimit(limit: unknown): number {
  if (limit === undefined) return DEFAULT_PAGE;
  if (typeof limit === 'number' && Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE) return limit;
  return fail(`streams.getChunks({ limit }): use an integer from 1 to ${MAX_PAGE} (default ${DEFAULT_PAGE}), got ${String(limit)}.`);
}

/** The bytes of a chunk entry: a World chunk as stored, a native one as its superjson text's UTF-8. */
const bytesOf = (data: string | Uint8Array): Uint8Array => (typeof data === 'string' ? new TextEncoder().encode(data) : data);

/** Builds the World's streams on the context's Redis. */
export function createWorldStreams(ctx: WorldContext): WorldStreamsParts {
  const keys = ctx.keys;
  const mux = new ChunkMux({
    client: () => ctx.redis,
    open: () => ctx.open('wdk-streams', true) as Redis,
    keepConnection: true,
  });
  const closedError = () => new WorkflowWorldError('The World was closed (world.close()) while a stream was read: create another World to read streams.');
  // Chunks given to a reader: a second reader of the same entry gets a copy, since
  // a byte stream's consumer may transfer (detach) the buffer it is given.
  const given = new WeakSet<Uint8Array>();

  /** Runs wdkStream.lua and maps its refusals to the official errors. */
  async function script(fn: string, runId: string, name: string, mode: Mode, chunks: Buffer[] = []): Promise<number[]> {
    const reply = (await ctx.scripts.run(
      'wdkStream',
      [keys.run(runId), keys.runStream(runId, name), keys.runStreams(runId)],
      [name, mode, ORPHAN_STREAM_TTL_MS, ...chunks],
    )) as [number, number | string, ...number[]];
    if (reply[0] === -20) {
      throw new EntityConflictError(`streams.${fn}: stream ${JSON.stringify(name)} of run ${JSON.stringify(runId)} is closed and takes no more chunks; nothing was written (a closed stream stays closed: write to another one).`);
    }
    if (reply[0] === -2) {
      throw new RunExpiredError(`streams.${fn}: run ${JSON.stringify(runId)} has finished (${String(reply[1])}), so its stream ${JSON.stringify(name)} is closed; nothing was written.`);
    }
    if (reply[0] !== 0) throw new WorkflowWorldError(`streams.${fn}: unexpected reply ${JSON.stringify(reply)} from wdkStream.lua.`);
    return reply.map(Number);
  }

  /**
   * A live reader of `key` from chunk `first`, until the end marker (close)
   * or cancel. It reads from `next` (the stream's end, when `first` is past
   * it): an end marker before `first` ends it too.
   */
  function readable(key: string, first: number, next: number): ReadableStream<Uint8Array> {
    let reader: ChunkReader | undefined;
    return new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          const r = controllerReader(mux, key, { first, next }, controller, HIGH_WATER_MARK, (_index, data) => {
            let bytes = bytesOf(data);
            // An empty chunk carries nothing, and a byte stream refuses to enqueue one (world-local skips them too).
            if (bytes.byteLength === 0) return;
            if (given.has(bytes)) bytes = bytes.slice();
            given.add(bytes);
            controller.enqueue(bytes);
          });
          reader = r;
          mux.add(r, closedError);
        },
        // Read from again: take it back into the XREAD if back-pressure left it out.
        pull: () => {
          if (reader && !reader.done) mux.interrupt();
        },
        cancel: () => {
          if (reader) mux.remove(reader);
        },
      },
      { highWaterMark: HIGH_WATER_MARK },
    );
  }

  const streams: Streamer['streams'] = {
    async write(runId, name, chunk) {
      checkTarget('write', runId, name);
      await script('write', runId, name, 'w', [chunkArg('write', chunk)]);
    },

    async writeMulti(runId, name, chunks) {
      checkTarget('writeMulti', runId, name);
      if (!Array.isArray(chunks)) fail(`streams.writeMulti(runId, name, chunks): chunks must be an array of strings or Uint8Arrays, got ${describe(chunks)}.`);
      const args = chunks.map((c, i) => chunkArg('writeMulti', c, i));
      if (args.length > 0) await script('writeMulti', runId, name, 'w', args);
    },

    async close(runId, name) {
      checkTarget('close', runId, name);
      await script('close', runId, name, 'c');
    },

    async get(runId, name, startIndex) {
      checkTarget('get', runId, name);
      if (startIndex !== undefined && !Number.isSafeInteger(startIndex)) {
        fail(`streams.get(runId, name, startIndex): use an integer (0 = the first chunk, -n = n chunks before the end), got ${String(startIndex)}.`);
      }
      if (mux.isClosed) throw closedError();
      // Lists the stream with its run (the run's end will close it, even unwritten) and counts it.
      const [, , entries, closed] = await script('get', runId, name, 'o');
      const chunks = closed ? entries! - 1 : entries!;
      const start = startIndex ?? 0;
      const first = start >= 0 ? start : Math.max(0, chunks + start);
      return readable(keys.runStream(runId, name), first, Math.min(first, chunks));
    },

    async list(runId) {
      if (typeof runId !== 'string' || runId === '') fail(`streams.list(runId): runId must be a non-empty string (the run's id), got ${describe(runId)}.`);
      return (await ctx.redis.hkeys(keys.runStreams(runId))).sort();
    },

    async getChunks(runId, name, options?: GetChunksOptions): Promise<StreamChunksResponse> {
      checkTarget('getChunks', runId, name);
      if (options !== undefined && (options === null || typeof options !== 'object')) fail('streams.getChunks(runId, name, options): options must be an object like { limit: 100, cursor }.');
      const limit = parseLimit(options?.limit);
      const from = parseCursor(options?.cursor);
      const key = keys.runStream(runId, name);
      // One entry more than the page: tells whether more chunks follow, or the end marker.
      const raw = (await ctx.redis.xrangeBuffer(key, `${from + 1}-0`, '+', 'COUNT', limit + 1)) as unknown as RawStreamEntry[];
      const entries = parseStreamChunks(raw);
      const data: StreamChunk[] = [];
      let done = false;
      let hasMore = false;
      for (const e of entries) {
        if (e.end) {
          done = true;
          break;
        }
        if (data.length === limit) {
          hasMore = true;
          break;
        }
        data.push({ index: e.index, data: bytesOf(e.data) });
      }
      // A cursor past the end marker reads nothing: whether the stream is done is its last entry.
      if (entries.length === 0) done = (await info(key)).done;
      return { data, cursor: hasMore ? String(from + data.length) : null, hasMore, done };
    },

    async getInfo(runId, name) {
      checkTarget('getInfo', runId, name);
      return info(keys.runStream(runId, name));
    },
  };

  /** The stream's last chunk index (-1: none) and whether it is closed, read in one MULTI. */
  async function info(key: string): Promise<StreamInfoResponse> {
    const res = await ctx.redis.multi().xlen(key).xrevrangeBuffer(key, '+', '-', 'COUNT', 1).exec();
    const [[lenErr, len], [lastErr, last]] = res as [[Error | null, number], [Error | null, RawStreamEntry[]]];
    if (lenErr || lastErr) throw lenErr ?? lastErr;
    const done = last.length > 0 && parseStreamChunks(last)[0]!.end === true;
    return { tailIndex: (done ? len - 1 : len) - 1, done };
  }

  return {
    streams,
    get readers() {
      return mux.size;
    },
    close: () => mux.close(closedError),
  };
}
