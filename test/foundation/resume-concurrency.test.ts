/**
 * ARCHITECTURE §4 / §5.1: N concurrent resumeHook calls on one token append exactly N
 * hook_received events (each payload once) and leave the run scheduled on the
 * workflow queue — one deduplicated job that a real BullMQ worker receives.
 */
import { expect } from 'chai';
import { configure, closeWorkflowClient, resumeHook, type HookInfo } from 'workflow-redis/api';
import { Redis } from 'ioredis';
import { getStore } from '../../lib/runtime/config.js';
import { Store } from '../../lib/redis/store.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { newResumeId } from '../../lib/runtime/ids.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { claimHook, createTestRun, eventsOfType, pendingJobsOf, replayQueueOf, startWorkflowWorker } from './helpers.js';

const N = 200;

describe('resumeHook: 200 concurrent calls on one token', function () {
  let redis: TestRedis;
  let store: Store;
  let runId: string;
  let token: string;
  let infos: HookInfo[];
  let eventsBefore: number;

  before(async function () {
    redis = await startRedis();
    configure({ connection: redis.url, prefix: uniquePrefix('conc') });
    store = await getStore();
    runId = await createTestRun(store);
    token = `order:${runId}`;
    expect((await claimHook(store, runId, token, { hookId: 'hook_1', metadata: { n: N } })).r).to.equal('ok');
    eventsBefore = await store.eventCount(runId);
    infos = await Promise.all(Array.from({ length: N }, (_, i) => resumeHook(token, { i, tag: `payload-${i}` })));
  });

  after(async function () {
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('every call resolves with the hook record of the run', function () {
    expect(infos).to.have.length(N);
    for (const info of infos) {
      expect(info.runId).to.equal(runId);
      expect(info.hookId).to.equal('hook_1');
      expect(info.token).to.equal(token);
      expect(info.isWebhook).to.equal(false);
      expect(info.metadata).to.deep.equal({ n: N });
      expect(info.createdAt).to.be.instanceOf(Date);
    }
  });

  it('appends exactly 200 hook_received events, nothing else', async function () {
    expect(await store.eventCount(runId)).to.equal(eventsBefore + N);
    const received = await eventsOfType(store, runId, 'hook_received');
    expect(received).to.have.length(N);
    expect(new Set(received.map((e) => e.eventId)).size).to.equal(N);
    for (const e of received) expect(e.correlationId).to.equal('hook_1');
  });

  it('stores each payload exactly once', async function () {
    const received = await eventsOfType(store, runId, 'hook_received');
    const counts = new Map<number, number>();
    for (const e of received) {
      const { payload } = deserialize<{ payload: { i: number; tag: string } }>(e.data);
      expect(payload.tag).to.equal(`payload-${payload.i}`);
      counts.set(payload.i, (counts.get(payload.i) ?? 0) + 1);
    }
    expect(counts.size).to.equal(N);
    for (let i = 0; i < N; i++) expect(counts.get(i), `payload ${i}`).to.equal(1);
  });

  it('stamps events with the Redis server clock, in stream order', async function () {
    const received = await eventsOfType(store, runId, 'hook_received');
    const now = Date.now();
    let prev = 0;
    for (const e of received) {
      expect(e.createdAt).to.be.a('number').within(now - 60_000, now + 60_000);
      expect(e.createdAt).to.be.at.least(prev);
      prev = e.createdAt;
    }
  });

  it('leaves exactly one replay job for the run (deduplicated)', async function () {
    const jobs = await pendingJobsOf(store, runId);
    expect(jobs).to.have.length(1);
    expect(jobs[0]!.name).to.equal('replay');
    // The job createRun added (the resumes were merged into it), with its start hint.
    expect(jobs[0]!.data.runId).to.equal(runId);
    const queue = await replayQueueOf(store, runId);
    expect(await queue.getDeduplicationJobId(runId)).to.equal(jobs[0]!.id);
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
    expect(counts.waiting + counts.active + counts.delayed + counts.prioritized).to.equal(1);
  });

  it('a real BullMQ worker receives the job for the run', async function () {
    const received: { id: string | undefined; runId: string }[] = [];
    const w = startWorkflowWorker(store, redis.url, async (job) => {
      received.push({ id: job.id, runId: job.data.runId });
    });
    try {
      await waitFor(() => received.length >= 1, { timeoutMs: 15_000, what: 'the worker to receive the replay job' });
      await waitFor(async () => (await pendingJobsOf(store, runId)).length === 0, { what: 'the queue to drain' });
    } finally {
      await w.close();
    }
    expect(received.map((r) => r.runId)).to.deep.equal([runId]);
  });
});

describe('resumeHook: concurrent calls from several connections on one token', function () {
  const CLIENTS = 4;
  const PER_CLIENT = 50;
  let redis: TestRedis;
  let prefix: string;
  const extra: { client: Redis; store: Store }[] = [];

  before(async function () {
    redis = await startRedis();
    prefix = uniquePrefix('conc-multi');
    configure({ connection: redis.url, prefix });
    for (let c = 0; c < CLIENTS; c++) {
      const client = new Redis(redis.url);
      extra.push({ client, store: await Store.open({ client, prefix }) });
    }
  });

  after(async function () {
    for (const { client, store } of extra) {
      await store.close();
      client.disconnect();
    }
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('interleaved on the server: every payload lands exactly once and one job is queued', async function () {
    const store = await getStore();
    const runId = await createTestRun(store);
    const token = `multi:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    const calls: Promise<unknown>[] = [];
    for (let k = 0; k < PER_CLIENT; k++) {
      calls.push(resumeHook(token, { from: 'api', k }));
      extra.forEach(({ store: s }, c) => calls.push(s.resumeHook(token, serialize({ payload: { from: `c${c}`, k } }), newResumeId())));
    }
    await Promise.all(calls);
    const received = await eventsOfType(store, runId, 'hook_received');
    const keys = received.map((e) => {
      const { payload } = deserialize<{ payload: { from: string; k: number } }>(e.data);
      return `${payload.from}/${payload.k}`;
    });
    expect(keys).to.have.length((CLIENTS + 1) * PER_CLIENT);
    expect(new Set(keys).size).to.equal((CLIENTS + 1) * PER_CLIENT);
    expect(await pendingJobsOf(store, runId)).to.have.length(1);
  });

  it('a re-sent resume (same client-minted resume id) is appended once', async function () {
    const store = await getStore();
    const runId = await createTestRun(store);
    const token = `resend:${runId}`;
    expect((await claimHook(store, runId, token)).r).to.equal('ok');
    const resumeId = newResumeId();
    const data = serialize({ payload: { once: true } });
    const replies = await Promise.all(extra.map(({ store: s }) => s.resumeHook(token, data, resumeId)));
    expect(new Set(replies.map((r) => r.eventId)).size, 'one event id for every re-send').to.equal(1);
    expect(replies.filter((r) => !r.duplicate)).to.have.length(1);
    expect(await eventsOfType(store, runId, 'hook_received')).to.have.length(1);
  });
});
