/**
 * The resumeHook examples of the official reference page, run unchanged (only
 * the import path differs) against a real Redis with real Web Requests.
 */
import { expect } from 'chai';
import { closeWorkflowClient, resumeHook } from 'workflow-redis/api';
import type { Store } from '../../lib/redis/store.js';
import { deserialize } from '../../lib/serialization/codec.js';
import { foundationSuite, claimHook, createTestRun, eventsOfType, expectNoWrites, pendingJobsOf } from './helpers.js';
import { POST as basicApiRoute } from './seed-examples/basic-api-route.js';
import { POST as withTypeSafety } from './seed-examples/with-type-safety.js';
import { POST as webhookHandler } from './seed-examples/webhook-handler.js';

// Compile-time checks (the example modules themselves are @ts-nocheck, see their header).
type RouteHandler = (request: Request) => Promise<Response>;
const handlers: RouteHandler[] = [basicApiRoute, withTypeSafety, webhookHandler];
type ApprovalPayload = { approved: boolean; comment: string };
// Never called: resumeHook<T> type-checks the payload against T, as the "With Type Safety" example relies on.
export function typeSafetyIsEnforced(token: string): void {
  void resumeHook<ApprovalPayload>(token, { approved: true, comment: 'ok' });
  // @ts-expect-error approved must be a boolean
  void resumeHook<ApprovalPayload>(token, { approved: 'yes', comment: 'ok' });
  // @ts-expect-error comment is required
  void resumeHook<ApprovalPayload>(token, { approved: true });
}

function jsonRequest(url: string, body: unknown): Request {
  return new Request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body) });
}

describe('seed examples of the resumeHook reference page', function () {
  let store: Store;
  let runId: string;
  let token: string;

  const suite = foundationSuite('seed');

  beforeEach(async function () {
    store = await suite.freshStore();
    runId = await createTestRun(store);
    token = `approval:${runId}`;
    expect((await claimHook(store, runId, token, { hookId: 'hook_1', metadata: { some: 'meta' } })).r).to.equal('ok');
  });

  afterEach(async function () {
    await closeWorkflowClient();
  });

  it('the examples are route handlers (request: Request) => Promise<Response>', function () {
    expect(handlers.map((h) => [typeof h, h.length])).to.deep.equal([
      ['function', 1],
      ['function', 1],
      ['function', 1],
    ]);
  });

  async function expectReceived(expected: unknown[]): Promise<void> {
    const received = await eventsOfType(store, runId, 'hook_received');
    expect(received.map((e) => deserialize<{ payload: unknown }>(e.data).payload)).to.deep.equal(expected);
    for (const e of received) expect(e.correlationId).to.equal('hook_1');
    // The run is scheduled: one (deduplicated) replay job.
    expect((await pendingJobsOf(store, runId)).length).to.equal(1);
  }

  describe('Basic API Route', function () {
    it('resumes the hook and answers { success: true, runId }', async function () {
      const data = { approved: true, items: [1, 2, 3], nested: { note: 'ok' } };
      const res = await basicApiRoute(jsonRequest('http://localhost/api/resume', { token, data }));
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.match(/application\/json/);
      expect(await res.json()).to.deep.equal({ success: true, runId });
      await expectReceived([data]);
    });

    it('answers 404 "Hook not found" for an unknown token and writes nothing', async function () {
      let res: Response | undefined;
      await expectNoWrites(suite.admin, async () => {
        res = await basicApiRoute(jsonRequest('http://localhost/api/resume', { token: 'no-such-token', data: { x: 1 } }));
      });
      expect(res!.status).to.equal(404);
      expect(await res!.text()).to.equal('Hook not found');
      await expectReceived([]);
    });

    it('answers 404 when the body has no token (typed error inside, nothing written)', async function () {
      let res: Response | undefined;
      await expectNoWrites(suite.admin, async () => {
        res = await basicApiRoute(jsonRequest('http://localhost/api/resume', { data: { x: 1 } }));
      });
      expect(res!.status).to.equal(404);
    });
  });

  describe('With Type Safety', function () {
    it('resumes the hook with the typed payload and answers { runId }', async function () {
      const res = await withTypeSafety(jsonRequest('http://localhost/api/approve', { token, approved: true, comment: 'LGTM' }));
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ runId });
      await expectReceived([{ approved: true, comment: 'LGTM' }]);
    });

    it('answers 404 { error: "Invalid token" } for an unknown token and writes nothing', async function () {
      let res: Response | undefined;
      await expectNoWrites(suite.admin, async () => {
        res = await withTypeSafety(jsonRequest('http://localhost/api/approve', { token: `${token}-x`, approved: false, comment: 'no' }));
      });
      expect(res!.status).to.equal(404);
      expect(await res!.json()).to.deep.equal({ error: 'Invalid token' });
    });
  });

  describe('Webhook Handler', function () {
    it('resumes the hook named by ?token= with the JSON body and answers { success: true, runId }', async function () {
      const body = { event: 'payment.succeeded', amount: 4200, tags: ['a', 'b'] };
      const res = await webhookHandler(jsonRequest(`http://localhost/api/webhook?token=${encodeURIComponent(token)}`, body));
      expect(res.status).to.equal(200);
      expect(await res.json()).to.deep.equal({ success: true, runId });
      await expectReceived([body]);
    });

    it('delivers several webhook calls as several hook_received events, in order', async function () {
      const url = `http://localhost/api/webhook?token=${encodeURIComponent(token)}`;
      for (let i = 0; i < 3; i++) {
        const res = await webhookHandler(jsonRequest(url, { seq: i }));
        expect(res.status).to.equal(200);
      }
      await expectReceived([{ seq: 0 }, { seq: 1 }, { seq: 2 }]);
    });

    it('answers 404 { error: "Hook not found" } for an unknown token and writes nothing', async function () {
      let res: Response | undefined;
      await expectNoWrites(suite.admin, async () => {
        res = await webhookHandler(jsonRequest('http://localhost/api/webhook?token=unknown-token', { a: 1 }));
      });
      expect(res!.status).to.equal(404);
      expect(await res!.json()).to.deep.equal({ error: 'Hook not found' });
    });

    for (const [label, url] of [
      ['an empty ?token=', 'http://localhost/api/webhook?token='],
      ['no token parameter', 'http://localhost/api/webhook'],
    ] as const) {
      it(`answers 400 { error: "Missing token" } for ${label} and writes nothing`, async function () {
        let res: Response | undefined;
        await expectNoWrites(suite.admin, async () => {
          res = await webhookHandler(jsonRequest(url, { a: 1 }));
        });
        expect(res!.status).to.equal(400);
        expect(await res!.json()).to.deep.equal({ error: 'Missing token' });
        await expectReceived([]);
      });
    }
  });
});
