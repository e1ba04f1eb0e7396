/**
 * Streams (issue 13): steps in a worker process write with getWritable(); this
 * process reads with run.getReadable() — live and from an index, several
 * namespaces, exact bytes, the payload limit, a retried writer, handles
 * passed from workflow code, and readers cancelled on streams never written.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { configure, getRun, start } from 'workflow-redis/api';
import { getStreamMux, getStore } from '../../lib/runtime/config.js';
import { uniquePrefix, waitFor } from '../helpers/redis.js';
import { burstWriter, gatedWriter, gateKey, handed, kinds, retried } from './fixtures/stream-workflows.js';
import { processSuite, type WorkerProcess } from './_workers.js';
import express from 'express';
import { workflowRouter } from 'workflow-redis/express';
import { serve } from '../express/_util.js';
import { readAll } from '../helpers/read-all.js';

// A full garbage collection on demand (for the memory check): the flag takes effect for a new context.
setFlagsFromString('--expose-gc');
const collect = runInNewContext('gc') as () => void;

/** Heap in use after a full collection: what is retained, not garbage waiting to be collected. */
function retainedHeap(): number {
  collect();
  collect();
  return process.memoryUsage().heapUsed;
}


describe('process: run streams', function () {
  this.timeout(120_000);
  const suite = processSuite();
  let prefix: string;
  let worker: WorkerProcess | undefined;

  function spawnWorker(): Promise<WorkerProcess> {
    return suite.pool.spawn({ REDIS_URL: suite.redis.url, PREFIX: prefix, CONCURRENCY: 10, WORKFLOW_MODULE: 'stream-workflows.ts', WORKFLOW_SET: 'streams' });
  }

  before(async () => {
    prefix = uniquePrefix('streams');
    configure({ connection: suite.redis.url, prefix });
  });

  it('1,000 chunks: a reader started before the run runs reads them live, one started halfway from an index gets the rest; both end with the run', async () => {
    const run = await start(gatedWriter, [500]);
    // The reader starts before any worker exists: the run has not run yet.
    const live: { i: number }[] = [];
    let halfway!: () => void;
    const atHalf = new Promise<void>((r) => (halfway = r));
    const first = readAll(run.getReadable<{ i: number }>(), (c, n) => {
      live.push(c);
      if (n === 500) halfway();
    });
    worker = await spawnWorker();
    await atHalf;
    expect(['pending', 'running'], 'the step is still writing (it waits at its gate)').to.include(await run.status);
    const second = readAll(getRun(run.runId).getReadable<{ i: number }>({ startIndex: 500 }));
    const fromEnd = readAll(getRun(run.runId).getReadable<{ i: number }>({ startIndex: -2 }));
    const probe = new Redis(suite.redis.url);
    await probe.rpush(gateKey(run.runId), 'go');
    probe.disconnect();
    const [a, b, c] = await Promise.all([first, second, fromEnd]);
    expect(a.map((x) => x.i)).to.deep.equal(Array.from({ length: 1000 }, (_, i) => i));
    expect(b.map((x) => x.i)).to.deep.equal(Array.from({ length: 500 }, (_, i) => 500 + i));
    // -2 when it opened: two chunks before the end of what was written then (498, 499), then the rest.
    expect(c.map((x) => x.i)).to.deep.equal(Array.from({ length: 502 }, (_, i) => 498 + i));
    expect(await run.returnValue).to.equal(1000);
    expect(getStreamMux().size, 'readers that ended hold nothing').to.equal(0);
  });

  it('namespaces stay apart; strings and Uint8Array round-trip exactly; a chunk over the limit is refused and nothing of it appended; the run\'s end closes the streams', async () => {
    worker ??= await spawnWorker();
    const texts = ['plain', '', 'nul\u0000inside', 'emoji 🎉', 'lone \ud800 surrogate', 'x'.repeat(10_000)];
    const bytes = [[], [0, 1, 2, 255], Array.from({ length: 256 }, (_, i) => i)];
    const run = await start(kinds, [texts, bytes]);
    expect(await run.returnValue).to.deep.equal({ refused: 'PayloadTooLargeError' });
    const main = await readAll(run.getReadable<string | Uint8Array>());
    expect(main.slice(0, texts.length)).to.deep.equal(texts);
    const got = main.slice(texts.length);
    expect(got.every((c) => c instanceof Uint8Array)).to.equal(true);
    expect(got.map((c) => [...(c as Uint8Array)])).to.deep.equal(bytes);
    expect(await readAll(run.getReadable({ namespace: 'side' }))).to.deep.equal(['only on side']);
    expect(await readAll(run.getReadable({ namespace: 'big' }))).to.deep.equal(['small first']);
    const store = await getStore();
    // 'small first' and the end marker the run's end appended: the refused chunk left nothing.
    expect(await store.client.xlen(store.keys.runStream(run.runId, 'big'))).to.equal(2);
    // A namespace nobody wrote: the run has ended, so it ends at once, empty.
    expect(await readAll(run.getReadable({ namespace: 'never' }))).to.deep.equal([]);
    // The streams count in the run's footprint (the main stream holds a 10,000-character chunk).
    const fp = await run.footprint();
    expect(fp.streamBytes).to.be.greaterThan(10_000);
    expect(fp.totalBytes).to.be.at.least(fp.streamBytes + fp.eventLogBytes);
  });

  it('a step retried after writing: its chunks are there once per attempt (at least once), in the order written', async () => {
    worker ??= await spawnWorker();
    const run = await start(retried, []);
    expect(await run.returnValue).to.equal(2);
    expect(await readAll(run.getReadable<string>())).to.deep.equal(['a1', 'b1', 'a2', 'b2']);
  });

  it('getWritable() in workflow code is a handle: workflow code cannot write (a clear error), the step it is passed to does', async () => {
    worker ??= await spawnWorker();
    const run = await start(handed, ['from the step']);
    const out = (await run.returnValue) as { refusal: string; step: string };
    expect(out.step).to.equal('written');
    expect(out.refusal).to.include('Workflow code cannot write to a stream').and.include('write there');
    expect(await readAll(run.getReadable({ namespace: 'handed' }))).to.deep.equal(['from the step']);
  });

  it('1,000 readers opened and cancelled on a stream never written leave no reader, no connection and no growing memory', async () => {
    worker ??= await spawnWorker();
    const run = await start(gatedWriter, [1]);
    const mux = getStreamMux();
    const handles = () => process.getActiveResourcesInfo().length;
    const cycle = async () => {
      const reader = run.getReadable({ namespace: 'never-written' }).getReader();
      const pending = reader.read();
      // Held by the multiplexer (its XREAD blocks on the stream) before it is cancelled.
      await waitFor(() => mux.size === 1, { what: 'the reader to be registered', intervalMs: 1 });
      await reader.cancel();
      expect((await pending).done).to.equal(true);
    };
    try {
      for (let i = 0; i < 50; i++) await cycle();
      await waitFor(() => mux.size === 0, { what: 'the readers to go' });
      const before = { handles: handles(), heap: retainedHeap() };
      for (let i = 0; i < 1000; i++) await cycle();
      await waitFor(() => mux.size === 0, { what: 'the readers to go' });
      await waitFor(() => handles() <= before.handles, { what: 'no handle left behind', timeoutMs: 5000 });
      const grown = retainedHeap() - before.heap;
      // A leak of what one reader holds (a stream, its controller, a subscription) would be megabytes over 1,000 cycles.
      expect(grown, `retained heap grew by ${grown} bytes over 1,000 cycles`).to.be.below(2 * 1024 * 1024);
    } finally {
      const probe = new Redis(suite.redis.url);
      await probe.rpush(gateKey(run.runId), 'go');
      probe.disconnect();
    }
    expect(await run.returnValue).to.equal(2);
  });

  it('all readers of the process share one Redis connection; a reader that does not read holds a bounded buffer, then gets every chunk', async () => {
    worker ??= await spawnWorker();
    const mux = getStreamMux();
    const runs = await Promise.all(Array.from({ length: 5 }, () => start(burstWriter, [2000, 50])));
    const readers = runs.flatMap((r) => [r.getReadable<string>(), r.getReadable<string>({ namespace: 'other' })]).map((s) => s.getReader());
    await waitFor(() => mux.size === 10, { what: 'ten readers registered' });
    const probe = new Redis(suite.redis.url);
    const clients = await probe.client('LIST');
    probe.disconnect();
    expect(String(clients).split('\n').filter((l) => l.includes('name=workflow-redis-streams')), 'one blocking connection').to.have.length(1);
    await Promise.all(runs.map((r) => r.returnValue));
    // Nothing was read yet: each main-stream reader holds at most its high-water mark plus one page.
    await waitFor(() => mux.buffered > 0, { what: 'chunks delivered' });
    expect(mux.buffered, 'bounded by back-pressure, not 10,000').to.be.at.most(5 * 200);
    const counts = await Promise.all(
      readers.map(async (reader) => {
        let n = 0;
        for (let r = await reader.read(); !r.done; r = await reader.read()) n++;
        return n;
      }),
    );
    expect(counts).to.deep.equal([2000, 0, 2000, 0, 2000, 0, 2000, 0, 2000, 0]);
    expect(mux.size).to.equal(0);
  });

  it('reading an unknown run errors the stream with WorkflowRunNotFoundError; a bad namespace or index is refused at once', async () => {
    const err = await readAll(getRun('wrun_unknown_stream_run').getReadable()).then(
      () => undefined,
      (e: Error) => e,
    );
    expect(err?.name).to.equal('WorkflowRunNotFoundError');
    expect(() => getRun('wrun_x').getReadable({ namespace: 'a b' })).to.throw(/not a namespace/);
    expect(() => getRun('wrun_x').getReadable({ startIndex: 1.5 })).to.throw(/startIndex/);
  });

  it('GET /runs/:id/stream: SSE (ids, an end event) and NDJSON (by Accept), live while the run runs, behind the operator auth; 400 / 404 before any byte', async () => {
    worker ??= await spawnWorker();
    const app = express();
    app.use('/wf', workflowRouter({ auth: (req, res, next) => (req.headers['x-op'] === 'yes' ? next() : res.status(401).json({ error: 'no' })) }));
    const server = await serve(app);
    const op = { 'x-op': 'yes' };
    try {
      const run = await start(gatedWriter, [3]);
      const url = `${server.url}/wf/runs/${run.runId}/stream`;
      expect((await fetch(url)).status, 'no credentials').to.equal(401);
      const sse = await fetch(url, { headers: { ...op, accept: 'text/event-stream' } });
      expect(sse.status).to.equal(200);
      expect(sse.headers.get('content-type')).to.match(/^text\/event-stream/);
      const body = sse.body!.pipeThrough(new TextDecoderStream()).getReader();
      let text = '';
      // The first three chunks arrive while the step waits at its gate: the run is still going.
      while ((text.match(/^data: /gm) ?? []).length < 3) text += (await body.read()).value ?? '';
      expect(['pending', 'running']).to.include(await run.status);
      const probe = new Redis(suite.redis.url);
      await probe.rpush(gateKey(run.runId), 'go');
      probe.disconnect();
      for (let r = await body.read(); !r.done; r = await body.read()) text += r.value;
      const events = text.split('\n\n').filter((b) => b.trim() && !b.startsWith(':'));
      expect(events.slice(0, 6)).to.deep.equal([0, 1, 2, 3, 4, 5].map((i) => `id: ${i}\ndata: {"i":${i}}`));
      expect(events[6]).to.equal('event: end\ndata: {}');

      const nd = await fetch(`${url}?startIndex=-2`, { headers: op });
      expect(nd.headers.get('content-type')).to.match(/^application\/x-ndjson/);
      expect((await nd.text()).trim().split('\n').map((l) => JSON.parse(l))).to.deep.equal([{ i: 4 }, { i: 5 }]);
      // An EventSource reconnecting after id 3 gets 4 and 5.
      const resumed = await fetch(url, { headers: { ...op, accept: 'text/event-stream', 'last-event-id': '3' } });
      expect((await resumed.text()).match(/^data: .*$/gm)).to.deep.equal(['data: {"i":4}', 'data: {"i":5}', 'data: {}']);

      for (const [q, status] of [['?startIndex=abc', 400], ['?startIndex=1.5', 400], ['?namespace=a%20b', 400], ['?namespace=' + 'n'.repeat(101), 400]] as const) {
        const r = await fetch(url + q, { headers: op });
        expect(r.status, q).to.equal(status);
        expect(((await r.json()) as { error: unknown }).error, q).to.be.a('string');
      }
      const unknown = await fetch(`${server.url}/wf/runs/wrun_nope/stream`, { headers: op });
      expect(unknown.status).to.equal(404);
    } finally {
      await server.close();
    }
  });
});
