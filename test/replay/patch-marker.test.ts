/**
 * The patch marker outside the engine: commitRun.lua appends a
 * `patch_applied` op as the event eventOfOp rebuilds (real Redis, one commit
 * through the store), and the timeline (inspector, `runs show`) shows it as
 * a `patch` row.
 */
import { expect } from 'chai';
import { renderTimeline } from '../../lib/cli/timeline-text.js';
import { buildTimeline } from '../../lib/inspect/timeline.js';
import type { Store } from '../../lib/redis/store.js';
import type { CommitOp, StoredEvent } from '../../lib/redis/store-types.js';
import { deserialize, serialize } from '../../lib/serialization/codec.js';
import { createTestRun, foundationSuite } from '../foundation/helpers.js';

const stored = (e: StoredEvent | undefined): StoredEvent => {
  const { parsed: _parsed, ...rest } = e!;
  return rest;
};

describe('patch marker: the stream event and the timeline', function () {
  let store: Store;
  const suite = foundationSuite('patch-marker');
  beforeEach(async function () {
    store = await suite.freshStore();
  });

  it('commitRun.lua appends patch_applied as the commit reply rebuilds it, in op order, and the run goes on', async () => {
    const runId = await createTestRun(store);
    const lease = await store.acquireRun(runId, 'owner-1', 30_000);
    const cursor = lease.events.at(-1)!.eventId;
    const input = serialize([1]);
    const ops: CommitOp[] = [
      { t: 'patch_applied', c: 'patch:x', d: serialize({ patchId: 'x', deprecated: false }) },
      { t: 'step_created', c: 'step_1', d: serialize({ stepName: 's', input, mode: 'queue' }), n: 's', m: 'queue', i: input },
      { t: 'patch_applied', c: 'patch:y', d: serialize({ patchId: 'y', deprecated: true }) },
    ];
    const reply = await store.commit(runId, lease.epoch, ops, cursor);
    expect(reply.results.map((r) => r.r)).to.deep.equal(['ok', 'ok', 'ok']);
    const log = await store.readAllEvents(runId, cursor);
    expect(reply.own.map(stored)).to.deep.equal(log);
    expect(log.map((e) => `${e.type} ${e.correlationId}`)).to.deep.equal(['patch_applied patch:x', 'step_created step_1', 'patch_applied patch:y']);
    expect(deserialize(log[2]!.data)).to.deep.equal({ patchId: 'y', deprecated: true });
    expect((await store.getRun(runId))?.status).to.equal('running');
  });

  it('the timeline has a patch row per marker (the id from the data, else from the correlation id)', () => {
    const at = 1_000;
    const items = buildTimeline([
      { type: 'run_created', correlationId: '', createdAt: at, data: undefined },
      { type: 'patch_applied', correlationId: 'patch:x', createdAt: at + 5, data: { patchId: 'x', deprecated: false } },
      { type: 'patch_applied', correlationId: 'patch:old-fix', createdAt: at + 7, data: undefined },
      { type: 'patch_applied', correlationId: 'patch:y', createdAt: at + 9, data: { patchId: 'y', deprecated: true } },
    ]);
    expect(items.slice(1)).to.deep.equal([
      { kind: 'patch', id: 'patch:x', name: 'x', status: 'applied', createdAt: new Date(at + 5).toISOString() },
      { kind: 'patch', id: 'patch:old-fix', name: 'old-fix', status: 'applied', createdAt: new Date(at + 7).toISOString() },
      { kind: 'patch', id: 'patch:y', name: 'y', status: 'applied', createdAt: new Date(at + 9).toISOString(), deprecated: true },
    ]);
    expect(renderTimeline(items, at).split('\n')).to.deep.equal([
      'AT    KIND   NAME     STATUS   DETAILS',
      '+0ms  run             created',
      '+5ms  patch  x        applied',
      '+7ms  patch  old-fix  applied',
      '+9ms  patch  y        applied  recorded by deprecatePatch()',
    ]);
  });
});
