/**
 * Shared helpers of the foundation tests: runs and hooks created through the
 * store (no replay engine), keyspace snapshots for "writes nothing" checks,
 * and a plain BullMQ worker on the workflow queue.
 */
import { Worker, type Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { expect } from 'chai';
import type { Store } from '../../lib/redis/store.js';
import type { CommitResult, StoredEvent } from '../../lib/redis/store-types.js';
import { QUEUE_NAMES } from '../../lib/redis/keys.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { newRunId } from '../../lib/runtime/ids.js';
import { getStore, type WorkflowConfig } from '../../lib/runtime/config.js';
import { closeWorkflowClient, configure } from 'workflow-redis/api';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';

/** What {@link foundationSuite} gives a suite (set in its mocha hooks). */
export interface FoundationSuite {
  /** The suite's private redis-server. */
  redis: TestRedis;
  /** A plain client for snapshots and direct reads. */
  admin: Redis;
  /** Configures the runtime API on a fresh `label` prefix of the suite's Redis (plus `cfg`); returns its settled store. */
  freshStore(cfg?: WorkflowConfig): Promise<Store>;
}

/**
 * Registers the hooks every foundation suite shares (call inside `describe`):
 * a private redis-server and an admin client for the suite, closed after it.
 */
export function foundationSuite(label: string): FoundationSuite {
  const suite = {
    async freshStore(cfg: WorkflowConfig = {}): Promise<Store> {
      configure({ connection: suite.redis.url, prefix: uniquePrefix(label), ...cfg });
      return settledStore();
    },
  } as FoundationSuite;
  before(async function () {
    suite.redis = await startRedis();
    suite.admin = adminClient(suite.redis.url);
  });
  after(async function () {
    await closeWorkflowClient();
    suite.admin?.disconnect();
    await suite.redis?.stop();
  });
  return suite;
}

/**
 * The runtime store, once its BullMQ queues have finished their own start-up
 * write (each Queue writes its `meta` hash asynchronously after connecting),
 * so that keyspace snapshots taken afterwards see only what the test does.
 */
export async function settledStore(): Promise<Store> {
  const store = await getStore();
  await store.openQueues(TEST_ROUTE);
  return store;
}

/** The route of the runs {@link createTestRun} creates by default (queue `workflows/wf@1`). */
export const TEST_ROUTE = { workflowName: 'wf', version: '1' };

/** The replay queue a run's jobs go to (its route's). */
export async function replayQueueOf(store: Store, runId: string): Promise<Queue> {
  const run = await store.getRun(runId);
  return store.queues(run ?? TEST_ROUTE).replays;
}

/** Creates a pending run through the store (run_created + a replay job), version 1 of `workflowName`. */
export async function createTestRun(store: Store, runId = newRunId(), workflowName = 'wf'): Promise<string> {
  const route = { workflowName, version: '1' };
  const res = await store.createRun({ runId, ...route, input: serialize([]), data: serialize(route) });
  expect(res).to.deep.equal({ runId, created: true });
  return runId;
}

/** Commits a hook_created op (the token claim) for a run; returns the op's result. */
export async function claimHook(
  store: Store,
  runId: string,
  token: string,
  opts: { hookId?: string; metadata?: unknown; isWebhook?: boolean } = {},
): Promise<CommitResult> {
  const { results } = await store.commit(runId, null, [
    {
      t: 'hook_created',
      c: opts.hookId ?? 'hook_1',
      d: serialize({ token }),
      tk: token,
      wh: opts.isWebhook ?? false,
      ...(opts.metadata === undefined ? {} : { md: serialize(opts.metadata) }),
    },
  ]);
  expect(results).to.have.length(1);
  return results[0]!;
}

/** Completes a run (run_completed); its hook tokens are released. */
export async function completeRun(store: Store, runId: string, output: unknown = 1): Promise<void> {
  const { results } = await store.commit(runId, null, [{ t: 'run_completed', c: '', d: serialize({ output }), out: serialize(output) }]);
  expect(results[0]?.r).to.equal('ok');
  expect((await store.getRun(runId))?.status).to.equal('completed');
}

/** Disposes a hook (hook_disposed); its token is released. */
export async function disposeHook(store: Store, runId: string, hookId = 'hook_1'): Promise<void> {
  const { results } = await store.commit(runId, null, [{ t: 'hook_disposed', c: hookId, d: serialize({}) }]);
  expect(results[0]?.r).to.equal('ok');
}

/** The run's events of one type. */
export async function eventsOfType(store: Store, runId: string, type: StoredEvent['type']): Promise<StoredEvent[]> {
  return (await store.readAllEvents(runId)).filter((e) => e.type === type);
}

/** The payloads of a run's hook_received events, in stream order. */
export async function receivedPayloads(store: Store, runId: string): Promise<unknown[]> {
  return (await eventsOfType(store, runId, 'hook_received')).map((e) => deserialize<{ payload: unknown }>(e.data).payload);
}

/**
 * Every key of the database with its type and DUMP serialisation (hex): two
 * equal snapshots mean nothing was written in between.
 */
export async function snapshotKeyspace(client: Redis, opts: { skip?: (key: string) => boolean } = {}): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '0';
  do {
    const [next, keys] = await client.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (opts.skip?.(key)) continue;
      const [type, dump] = await Promise.all([client.type(key), client.dumpBuffer(key)]);
      out.set(key, `${type}:${dump ? dump.toString('hex') : 'nil'}`);
    }
  } while (cursor !== '0');
  return out;
}

/** Snapshot and dbsize before `fn`; asserts both are unchanged after it. Returns what `fn` threw. */
export async function expectNoWrites(client: Redis, fn: () => Promise<unknown>): Promise<unknown> {
  const sizeBefore = await client.dbsize();
  const before = await snapshotKeyspace(client);
  let thrown: unknown;
  try {
    await fn();
  } catch (err) {
    thrown = err;
  }
  const sizeAfter = await client.dbsize();
  const after = await snapshotKeyspace(client);
  expect([...after.keys()].sort(), 'key names').to.deep.equal([...before.keys()].sort());
  expect(sizeAfter, 'dbsize').to.equal(sizeBefore);
  for (const [key, value] of before) expect(after.get(key), `contents of ${key}`).to.equal(value);
  return thrown;
}

/** Awaits a promise that must reject; returns the rejection. */
export async function rejectionOf(p: Promise<unknown> | (() => Promise<unknown>)): Promise<Error> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection, but the promise resolved');
}

/** A BullMQ worker on the replay queue of {@link TEST_ROUTE}, on its own blocking connection. */
export interface TestWorker {
  worker: Worker;
  close(): Promise<void>;
}

export function startWorkflowWorker(
  store: Store,
  url: string,
  processor: (job: Job<{ runId: string }>) => Promise<unknown>,
  opts: { autorun?: boolean } = {},
): TestWorker {
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  const worker = new Worker(QUEUE_NAMES.replays(TEST_ROUTE), processor, {
    connection,
    prefix: store.keys.bullPrefix,
    concurrency: 1,
    autorun: opts.autorun ?? true,
  });
  worker.on('error', () => {});
  return {
    worker,
    async close() {
      await worker.close();
      connection.disconnect();
    },
  };
}

/** Jobs of the run's replay queue that are waiting, active or delayed for it. */
export async function pendingJobsOf(store: Store, runId: string): Promise<Job[]> {
  const jobs = await (await replayQueueOf(store, runId)).getJobs(['waiting', 'active', 'delayed', 'prioritized']);
  return jobs.filter((j) => j?.data?.runId === runId);
}

/** A plain admin connection to the test Redis (for dbsize, snapshots...). */
export function adminClient(url: string): Redis {
  return new Redis(url, { maxRetriesPerRequest: 3 });
}
