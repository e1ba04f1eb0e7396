/**
 * The official-SDK World's streams (lib/world/streams.ts) on the native
 * stream storage: exact bytes, live readers across the backlog/live edge,
 * start indexes, readers cancelled by the hundred, paging, the closed-stream
 * rules, health-check writes to fake run ids, bad input, and native readers
 * of World chunks.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { EntityConflictError, RunExpiredError, WorkflowWorldError } from '@workflow/errors';
import type { Streamer } from '@workflow/world';
import { resolveWorldConfig, WorldContext } from '../../lib/world/context.js';
import { createWorldStreams, ORPHAN_STREAM_TTL_MS, type WorldStreamsParts } from '../../lib/world/streams.js';
import { parseStreamChunks, Store, type RawStreamEntry } from '../../lib/redis/store.js';
import { StreamMux } from '../../lib/runtime/stream-reader.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { readAll } from '../helpers/read-all.js';

type Streams = Streamer['streams'];


const text = (chunks: Uint8Array[]) => chunks.map((c) => Buffer.from(c).toString('utf8'));
const bytes = (...b: number[]) => new Uint8Array(b);
let seq = 0;
/** A run id and a stream name like the runtime's (`strm_<ULID>_user`). */
const ids = () => {
  seq++;
  return { runId: `wrun_T${seq}`, name: `strm_01TEST${String(seq).padStart(4, '0')}_user` };
};

/** Expects `p` to reject with a WorkflowWorldError whose message matches `re`. */
async function rejects(p: Promise<unknown>, re: RegExp, type: new (...a: any[]) => Error = WorkflowWorldError): Promise<Error> {
  try {
    await p;
  } catch (err) {
    expect(err).to.be.instanceOf(type);
    expect((err as Error).message).to.match(re);
    return err as Error;
  }
  throw new Error(`expected a rejection matching ${re}`);
}

describe('world: streams', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let admin: Redis;
  let ctx: WorldContext;
  let parts: WorldStreamsParts;
  let streams: Streams;

  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
    ctx = new WorldContext(resolveWorldConfig({ redis: redis.url, prefix: uniquePrefix('wst') }));
    parts = createWorldStreams(ctx);
    streams = parts.streams;
  });
  after(async () => {
    await parts?.close();
    await ctx?.close();
    admin?.disconnect();
    await redis?.stop();
  });

  /** Connections named `name` on the server now. */
  async function connections(name: string): Promise<number> {
    const list = (await admin.client('LIST')) as string;
    return list.split('\n').filter((l) => l.includes(` name=${name} `)).length;
  }

  it('bytes (0x00, 0xFF, everything) come back exactly; strings come back as their UTF-8 bytes', async () => {
    const { runId, name } = ids();
    const all = new Uint8Array(256).map((_, i) => i);
    const view = new Uint8Array([9, 0, 0xff, 0, 9]).subarray(1, 4); // a view: only its own bytes are written
    await streams.write(runId, name, bytes(0x00));
    await streams.write(runId, name, bytes(0xff, 0x00, 0xff));
    await streams.writeMulti!(runId, name, [all, view, 'héllo € 😀\u0000!', '']);
    await streams.close(runId, name);
    const expected = [bytes(0), bytes(0xff, 0, 0xff), all, bytes(0, 0xff, 0), new Uint8Array(Buffer.from('héllo € 😀\u0000!', 'utf8')), bytes()];
    const page = await streams.getChunks(runId, name);
    expect(page.data.map((c) => c.index)).to.deep.equal([0, 1, 2, 3, 4, 5]);
    page.data.forEach((c, i) => {
      expect(c.data).to.be.instanceOf(Uint8Array);
      expect(Buffer.from(c.data).equals(Buffer.from(expected[i]!)), `chunk ${i}`).to.equal(true);
    });
    expect(page).to.include({ done: true, hasMore: false, cursor: null });
    // The live reader gives the same bytes, each chunk owning its memory; the empty chunk is skipped (a byte stream cannot carry it).
    const read = await readAll(await streams.get(runId, name));
    expect(read.map((c) => Buffer.from(c).toString('hex'))).to.deep.equal(expected.slice(0, 5).map((c) => Buffer.from(c).toString('hex')));
    for (const c of read) expect(c.byteOffset === 0 && c.buffer.byteLength === c.byteLength, 'owns its buffer').to.equal(true);
  });

  it('a reader opened before any write gets the backlog, then live chunks, then ends on close: in order, none lost or duplicated, across the backlog/live edge', async () => {
    const { runId, name } = ids();
    const early = streams.get(runId, name);
    const readers: Promise<string[]>[] = [early.then(async (s) => text(await readAll(s)))];
    const starts = [0];
    // 1,000 chunks in batches of 1 to 40, with readers joining while the backlog is being written and read.
    let n = 0;
    while (n < 1000) {
      const size = Math.min(1000 - n, 1 + ((n * 7) % 40));
      const batch = Array.from({ length: size }, (_, i) => `c${n + i}`);
      const write = size === 1 ? streams.write(runId, name, batch[0]!) : streams.writeMulti!(runId, name, batch);
      if (n % 150 < 40) {
        const start = n % 3 === 0 ? n : 0;
        starts.push(start);
        readers.push(streams.get(runId, name, start).then(async (s) => text(await readAll(s))));
      }
      await write;
      n += size;
    }
    await streams.close(runId, name);
    const results = await Promise.all(readers);
    expect(results.length).to.be.greaterThan(5);
    results.forEach((got, i) => {
      const want = Array.from({ length: 1000 - starts[i]! }, (_, j) => `c${starts[i]! + j}`);
      if (got.join() !== want.join()) expect.fail(`reader ${i} from ${starts[i]}: got ${got.length} chunks ${got.slice(0, 3).join()}..., want ${want.length} ${want.slice(0, 3).join()}...`);
    });
    await waitFor(() => parts.readers === 0, { what: 'the readers that ended to go' });
  });

  it('startIndex: positive skips, negative counts from the end (the end marker not counted), clamped to 0; past the end waits for the chunk', async () => {
    const { runId, name } = ids();
    await streams.writeMulti!(runId, name, Array.from({ length: 10 }, (_, i) => `${i}`));
    const ahead = streams.get(runId, name, 12);
    const tail = (await streams.get(runId, name, -3)).getReader();
    expect(text([(await tail.read()).value!, (await tail.read()).value!, (await tail.read()).value!])).to.deep.equal(['7', '8', '9']);
    await tail.cancel();
    await streams.writeMulti!(runId, name, ['10', '11', '12', '13']);
    await streams.close(runId, name);
    expect(text(await readAll(await streams.get(runId, name, 5)))).to.deep.equal(['5', '6', '7', '8', '9', '10', '11', '12', '13']);
    expect(text(await readAll(await streams.get(runId, name, -3)))).to.deep.equal(['11', '12', '13']);
    expect(text(await readAll(await streams.get(runId, name, -100)))).to.have.length(14);
    expect(text(await readAll(await streams.get(runId, name, 100)))).to.deep.equal([]);
    expect(text(await readAll(await ahead))).to.deep.equal(['12', '13']);
    // A reader past the end of an open stream ends when the stream is closed before its start.
    const short = ids();
    await streams.write(short.runId, short.name, 'only');
    const beyond = streams.get(short.runId, short.name, 50);
    await streams.close(short.runId, short.name);
    expect(text(await readAll(await beyond))).to.deep.equal([]);
  });

  it('a never-written stream read and cancelled 500 times leaves no reader and one connection at most', async () => {
    const { runId, name } = ids();
    const before = await connections('wdk-commands');
    for (let i = 0; i < 500; i++) {
      const reader = (await streams.get(runId, `${name}_system_abort`)).getReader();
      const pending = reader.read();
      if (i % 2 === 0) await new Promise((r) => setImmediate(r)); // some cancelled while blocked in the XREAD, some before
      await reader.cancel();
      expect(await pending).to.deep.include({ done: true });
    }
    await waitFor(() => parts.readers === 0, { what: 'the cancelled readers to go' });
    expect(await connections('wdk-streams'), 'the blocking connection').to.be.at.most(1);
    expect(await connections('wdk-commands')).to.equal(before);
    // The kept connection still serves the next reader.
    const live = streams.get(runId, name);
    await streams.write(runId, name, 'after');
    await streams.close(runId, name);
    expect(text(await readAll(await live))).to.deep.equal(['after']);
  });

  it('getChunks pages with a cursor that stays valid while the stream grows; limit 1..1000, default 100', async () => {
    const { runId, name } = ids();
    expect(await streams.getChunks(runId, name)).to.deep.equal({ data: [], cursor: null, hasMore: false, done: false });
    await streams.writeMulti!(runId, name, Array.from({ length: 250 }, (_, i) => `${i}`));
    const p1 = await streams.getChunks(runId, name);
    expect(p1.data).to.have.length(100);
    expect(p1).to.include({ hasMore: true, done: false });
    await streams.writeMulti!(runId, name, Array.from({ length: 50 }, (_, i) => `${250 + i}`));
    const p2 = await streams.getChunks(runId, name, { cursor: p1.cursor!, limit: 150 });
    expect(p2.data.map((c) => c.index)).to.deep.equal(Array.from({ length: 150 }, (_, i) => 100 + i));
    expect(text(p2.data.map((c) => c.data))[0]).to.equal('100');
    const p3 = await streams.getChunks(runId, name, { cursor: p2.cursor!, limit: 50 });
    expect(p3.data.map((c) => c.index)).to.deep.equal(Array.from({ length: 50 }, (_, i) => 250 + i));
    expect(p3).to.include({ hasMore: false, cursor: null, done: false });
    await streams.close(runId, name);
    const last = await streams.getChunks(runId, name, { cursor: p2.cursor!, limit: 50 });
    expect(last).to.include({ hasMore: false, cursor: null, done: true });
    expect((await streams.getChunks(runId, name, { cursor: '5000' })).done, 'a cursor past the end').to.equal(true);
    expect((await streams.getChunks(runId, name, { limit: 1000 })).data).to.have.length(300);
  });

  it('getInfo: tailIndex -1 when empty, the last chunk index after writes, done after close', async () => {
    const { runId, name } = ids();
    expect(await streams.getInfo(runId, name)).to.deep.equal({ tailIndex: -1, done: false });
    await streams.writeMulti!(runId, name, ['a', 'b', 'c']);
    expect(await streams.getInfo(runId, name)).to.deep.equal({ tailIndex: 2, done: false });
    await streams.close(runId, name);
    expect(await streams.getInfo(runId, name)).to.deep.equal({ tailIndex: 2, done: true });
    const empty = ids();
    await streams.close(empty.runId, empty.name);
    expect(await streams.getInfo(empty.runId, empty.name)).to.deep.equal({ tailIndex: -1, done: true });
  });

  it("list: the run's streams (written, closed or read while the run lives), sorted; nothing for another run", async () => {
    const { runId } = ids();
    await ctx.redis.hset(ctx.keys.run(runId), 'status', 'running');
    await streams.write(runId, 'strm_B_user', 'x');
    await streams.close(runId, 'strm_A_user');
    const reader = await streams.get(runId, 'strm_C_system_abort');
    expect(await streams.list(runId)).to.deep.equal(['strm_A_user', 'strm_B_user', 'strm_C_system_abort']);
    expect(await streams.list(`${runId}_other`)).to.deep.equal([]);
    // Listed in the run's streams hash (name -> key): the run's end closes them all (includes/finishRun.lua).
    expect(await ctx.redis.hget(ctx.keys.runStreams(runId), 'strm_C_system_abort')).to.equal(ctx.keys.runStream(runId, 'strm_C_system_abort'));
    await reader.cancel();
  });

  it('health-check style: a write and close on a fake run id is read back, and expires; reading an unknown run creates nothing', async () => {
    const runId = 'wrun_hc_01HEALTH';
    const name = '__health_check__01HEALTH';
    const poll = await streams.get(runId, name);
    expect(await admin.exists(ctx.keys.runStreams(runId), ctx.keys.runStream(runId, name)), 'a read creates no key').to.equal(0);
    await streams.write(runId, name, JSON.stringify({ healthy: true }));
    await streams.close(runId, name);
    expect(text(await readAll(poll))).to.deep.equal(['{"healthy":true}']);
    for (const key of [ctx.keys.runStream(runId, name), ctx.keys.runStreams(runId)]) {
      const ttl = await admin.pttl(key);
      expect(ttl, key).to.be.within(1, ORPHAN_STREAM_TTL_MS);
    }
  });

  it('a closed stream takes no chunks (EntityConflictError, nothing written); close twice is a no-op', async () => {
    const { runId, name } = ids();
    await streams.write(runId, name, 'a');
    await streams.close(runId, name);
    await streams.close(runId, name);
    await rejects(streams.write(runId, name, 'b'), /is closed/, EntityConflictError);
    await rejects(streams.writeMulti!(runId, name, ['b', 'c']), /is closed/, EntityConflictError);
    expect(await admin.xlen(ctx.keys.runStream(runId, name))).to.equal(2);
    expect(text(await readAll(await streams.get(runId, name)))).to.deep.equal(['a']);
  });

  it("a finished run's streams are closed: a write is refused (RunExpiredError) and closes the stream with the run's retention; a reader ends at once", async () => {
    const { runId, name } = ids();
    await ctx.redis.hset(ctx.keys.run(runId), 'status', 'running');
    await streams.write(runId, name, 'a');
    expect(await admin.pttl(ctx.keys.runStream(runId, name)), 'a live run keeps its streams').to.equal(-1);
    await ctx.redis.hset(ctx.keys.run(runId), 'status', 'completed');
    await ctx.redis.pexpire(ctx.keys.run(runId), 600_000);
    await rejects(streams.write(runId, name, 'late'), /has finished \(completed\)/, RunExpiredError);
    expect(await streams.getInfo(runId, name)).to.deep.equal({ tailIndex: 0, done: true });
    expect(await admin.pttl(ctx.keys.runStream(runId, name))).to.be.within(1, 600_000);
    await streams.close(runId, name);
    expect(text(await readAll(await streams.get(runId, name)))).to.deep.equal(['a']);
    expect(text(await readAll(await streams.get(runId, `${name}_never`)))).to.deep.equal([]);
  });

  it('bad input is refused with a WorkflowWorldError saying what to pass, writing nothing', async () => {
    const { runId, name } = ids();
    const s = streams as any;
    await rejects(s.write(runId, 42, 'x'), /name must be a non-empty string/);
    await rejects(s.write('', name, 'x'), /runId must be a non-empty string/);
    await rejects(s.write(runId, name, 42), /chunk must be a string or a Uint8Array/);
    await rejects(s.writeMulti(runId, name, ['ok', { no: 1 }]), /chunks\[1\] must be a string or a Uint8Array/);
    await rejects(s.writeMulti(runId, name, 'x'), /chunks must be an array/);
    await rejects(s.close(runId, null), /name must be/);
    await rejects(s.get(runId, name, 1.5), /startIndex.*integer/);
    await rejects(s.list(undefined), /runId must be/);
    for (const limit of [0, 1001, 1.5, '10']) await rejects(s.getChunks(runId, name, { limit }), /limit.*1 to 1000/);
    for (const cursor of ['abc', '-1', '1.5', 7]) await rejects(s.getChunks(runId, name, { cursor }), /not a cursor/);
    await rejects(s.getInfo(runId, {}), /name must be/);
    expect(await admin.exists(ctx.keys.runStream(runId, name))).to.equal(0);
  });

  it('two readers of one stream each get intact chunks even when one transfers (detaches) its buffers', async () => {
    const { runId, name } = ids();
    const [a, b] = [await streams.get(runId, name), await streams.get(runId, name)];
    const readA = (async () => {
      const out: string[] = [];
      for await (const c of a as unknown as AsyncIterable<Uint8Array>) {
        out.push(Buffer.from(c).toString());
        structuredClone(c, { transfer: [c.buffer as ArrayBuffer] });
      }
      return out;
    })();
    const readB = readAll(b).then(text);
    await streams.writeMulti!(runId, name, ['one', 'two', 'three']);
    await streams.close(runId, name);
    expect(await readA).to.deep.equal(['one', 'two', 'three']);
    expect(await readB).to.deep.equal(['one', 'two', 'three']);
  });

  it('native readers read World chunks: parseStreamChunks gives a Uint8Array (text for native chunks), run.getReadable the bytes', async () => {
    const { runId, name } = ids();
    await ctx.redis.hset(ctx.keys.run(runId), 'status', 'running');
    await streams.writeMulti!(runId, name, [bytes(0, 0xff, 0x80), 'ok']);
    // A native chunk (superjson text, as appendChunks.lua writes it) in the same stream.
    await admin.xadd(ctx.keys.runStream(runId, name), '3-0', 'd', '{"json":"native"}', 'w', 'step', 'a', '1');
    const raw = (await admin.xrangeBuffer(ctx.keys.runStream(runId, name), '-', '+')) as unknown as RawStreamEntry[];
    const parsed = parseStreamChunks(raw);
    expect(parsed[0]).to.deep.equal({ index: 0, data: bytes(0, 0xff, 0x80) });
    expect(parsed[0]!.end === undefined && parsed[0]!.data).to.be.instanceOf(Uint8Array);
    expect(parsed[2]).to.deep.equal({ index: 2, data: '{"json":"native"}' });
    await streams.close(runId, name);
    const store = await Store.open({ client: new Redis(redis.url), prefix: ctx.keys.prefix });
    const mux = new StreamMux(async () => store);
    try {
      const values = await readAll(mux.readable<unknown>(runId, { namespace: name }));
      expect(values).to.have.length(3);
      expect(Buffer.from(values[0] as Uint8Array).toString('hex')).to.equal('00ff80');
      expect(Buffer.from(values[1] as Uint8Array).toString()).to.equal('ok');
      expect(values[2]).to.equal('native');
      // From past the end of a closed stream: ends at once.
      expect(await readAll(mux.readable<unknown>(runId, { namespace: name, startIndex: 10 }))).to.deep.equal([]);
    } finally {
      await mux.close();
      (store.client as Redis).disconnect();
    }
  });

  it('close() ends the live readers (they error) and releases the blocking connection; get after close is refused', async () => {
    const own = createWorldStreams(ctx);
    const { runId, name } = ids();
    const reading = readAll(await own.streams.get(runId, name)).then(
      () => 'ended',
      (err: Error) => err,
    );
    await waitFor(async () => (await connections('wdk-streams')) === 2, { what: "this World's blocking connection" });
    await own.close();
    expect(await reading).to.be.instanceOf(WorkflowWorldError);
    expect(own.readers).to.equal(0);
    await waitFor(async () => (await connections('wdk-streams')) === 1, { what: 'the connection to go' });
    await rejects(own.streams.get(runId, name), /World was closed/);
  });
});
