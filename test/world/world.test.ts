/**
 * createWorld(): what the official runtime's loader sees (a factory and a
 * default export, spec 5), its option checks, and its lifecycle (start,
 * close) leaving no connection behind.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import createWorldDefault, { createWorld, WORLD_SPEC_VERSION } from '../../lib/world/index.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { thrownBy } from '../helpers/throws.js';
import { binary, newRunId } from './_world.js';

describe('world: createWorld', function () {
  let redis: TestRedis;
  let probe: Redis;
  before(async () => {
    redis = await startRedis();
    probe = new Redis(redis.url);
  });
  after(async () => {
    probe?.disconnect();
    await redis?.stop();
  });
  const clients = async () => (await probe.client('LIST') as string).trim().split('\n').length;

  it('is the module default export too, and declares spec 5', async function () {
    expect(createWorldDefault).to.equal(createWorld);
    const world = createWorld({ redis: redis.url, prefix: uniquePrefix('wdk') });
    try {
      expect(world.specVersion).to.equal(5).and.to.equal(WORLD_SPEC_VERSION);
      expect(world.streamFlushIntervalMs).to.equal(0);
      expect(await world.getDeploymentId()).to.equal('redis');
    } finally {
      await world.close!();
    }
  });

  it('refuses bad options with a message that says what to use', function () {
    const cases: [unknown, RegExp][] = [
      [{ prefix: '{x}' }, /prefix/],
      [{ concurrency: 0 }, /concurrency/],
      [{ baseUrl: 'localhost:3000' }, /baseUrl/],
      [{ deploymentId: '' }, /deploymentId/],
      [{ redis: 'localhost:6379' }, /redis:\/\//],
      ['redis://x', /object/],
    ];
    for (const [opts, msg] of cases) {
      const err = thrownBy(() => createWorld(opts as never));
      expect(err.name, JSON.stringify(opts)).to.equal('InvalidArgumentError');
      expect(err.message, JSON.stringify(opts)).to.match(msg);
    }
  });

  it('start() then close() serves a run and leaves no connection open', async function () {
    const before = await clients();
    const world = createWorld({ redis: redis.url, prefix: uniquePrefix('wdk'), baseUrl: 'http://127.0.0.1:1' });
    await world.start!();
    const runId = newRunId();
    await world.events.create(runId, { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any);
    expect((await world.runs.get(runId)).status).to.equal('pending');
    const readable = await world.streams.get(runId, 'strm_x_user');
    await world.streams.write(runId, 'strm_x_user', 'hi');
    const reader = readable.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).to.equal('hi');
    await reader.cancel();
    await world.close!();
    await waitFor(async () => (await clients()) === before, { timeoutMs: 5000, what: 'the World connections to close' });
  });

  it('start() re-enqueues the active runs it finds (recovery)', async function () {
    const prefix = uniquePrefix('wdk');
    const first = createWorld({ redis: redis.url, prefix, recoverActiveRuns: false });
    const ids = [newRunId(), newRunId()];
    for (const id of ids) await first.events.create(id, { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any);
    await first.close!();
    // An app whose route is not up: the messages wait in the queue, counted there.
    const world = createWorld({ redis: redis.url, prefix, baseUrl: 'http://127.0.0.1:1', logger: () => {} });
    try {
      await world.start!();
      // Each message's delivery fails (nothing listens there) and waits for its retry: one per run.
      const delayed = `{${prefix}}:wdk-workflow:delayed`;
      await waitFor(async () => (await probe.zcard(delayed)) === 2, { timeoutMs: 10_000, what: 'both messages to wait for a retry' });
      const runIds = await Promise.all((await probe.zrange(delayed, '0', '-1')).map(async (id) => JSON.parse((await probe.hget(`{${prefix}}:wdk-workflow:${id}`, 'data'))!).r));
      expect(runIds.sort()).to.deep.equal([...ids].sort());
    } finally {
      await world.close!();
    }
  });
});
