/**
 * Official runs and native workers: even in a shared prefix, the native
 * reconciler and wakeRun never put a World run (kind = wdk) on a native queue.
 */
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Store } from '../../lib/redis/store.js';
import { reconcile } from '../../lib/worker/reconciler.js';
import { resolveWorldConfig, WorldContext } from '../../lib/world/context.js';
import { createWorldStorage } from '../../lib/world/storage.js';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { binary, newRunId } from './_world.js';

describe('world: isolation from the native engine', function () {
  let redis: TestRedis;
  before(async () => (redis = await startRedis()));
  after(async () => redis?.stop());

  it('the default prefix is wdk, not the native wf', function () {
    expect(resolveWorldConfig({}, {}).prefix).to.equal('wdk');
  });

  it('a pending and a running World run in a shared prefix are never woken onto a native queue', async function () {
    const prefix = uniquePrefix('shared');
    const ctx = new WorldContext(resolveWorldConfig({ redis: redis.url, prefix }));
    const storage = createWorldStorage(ctx);
    const client = new Redis(redis.url);
    try {
      const pending = newRunId();
      const running = newRunId();
      for (const id of [pending, running]) {
        await storage.events.create(id, { eventType: 'run_created', eventData: { deploymentId: 'd', workflowName: 'wf', input: binary() } } as any);
      }
      await storage.events.create(running, { eventType: 'run_started' } as any);
      const store = await Store.open({ client, prefix });
      const report = await reconcile(store);
      expect(report.scanned).to.equal(2);
      expect(report.woken).to.equal(0);
      const wake = await store.wakeRun(pending).then(() => 'woken', (err: Error) => err.name);
      expect(wake).to.equal('WorkflowRunNotFoundError');
      const bullKeys = await client.keys(`${store.keys.bullPrefix}:workflows/*`);
      expect(bullKeys).to.deep.equal([]);
      expect((await storage.runs.get(pending)).status).to.equal('pending');
    } finally {
      client.disconnect();
      await ctx.close();
    }
  });
});
