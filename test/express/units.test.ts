/**
 * workflow-redis/express without Redis: the error mapping table, the 500
 * path of the error middleware, JSON-safe values, and the timeline builder
 * on hand-written event logs (retries, crashes, failures, hooks, sleeps).
 */
import { expect } from 'chai';
import express from 'express';
import {
  EntityConflictError,
  HookConflictError,
  HookNotFoundError,
  HookPayloadValidationError,
  InvalidArgumentError,
  PayloadTooLargeError,
  SerializationError,
  WebhookResponseTimeoutError,
  WorkflowRunNotFoundError,
} from 'workflow-redis/api';
import { buildTimeline, errorMiddleware, mapError, toJsonSafe, WebhookBodyUnavailableError, type TimelineEvent } from 'workflow-redis/express';
import { jsonOf, serve } from './_util.js';

describe('express: error mapping', () => {
  it('maps each library error to its status with a safe message', () => {
    const cases: [unknown, number][] = [
      [new HookNotFoundError('secret-token'), 404],
      [new WorkflowRunNotFoundError('wrun_x'), 404],
      [new InvalidArgumentError('bad'), 400],
      [new SerializationError('payload.fn', 'it is a function'), 400],
      [new HookPayloadValidationError([{ message: 'Expected boolean', path: ['approved'] }]), 400],
      [new PayloadTooLargeError(2_000_000, 1_048_576), 413],
      [new HookConflictError('t', 'wrun_y'), 409],
      [new EntityConflictError('cancelRun: completed'), 409],
      [new WebhookResponseTimeoutError(100), 504],
      [new Error('ECONNREFUSED 127.0.0.1:6379'), 500],
      [new TypeError('x is undefined'), 500],
      ['a string', 500],
      [undefined, 500],
    ];
    for (const [err, status] of cases) {
      const mapped = mapError(err);
      expect(mapped.status, String((err as Error)?.name ?? err)).to.equal(status);
      expect(mapped.body.error).to.be.a('string').and.not.empty;
      expect(JSON.stringify(mapped.body)).not.to.include('secret-token');
    }
    expect(mapError(new HookNotFoundError('t')).body).to.deep.equal({ error: 'Hook not found' });
    expect(mapError(new Error('internal detail')).body).to.deep.equal({ error: 'Internal server error' });
    // A server misconfiguration with a fixed message that says how to fix it: a 500 that keeps its message.
    expect(mapError(new WebhookBodyUnavailableError('mount the router first'))).to.deep.equal({ status: 500, body: { error: 'mount the router first' } });
  });

  it('matches errors by name, so errors of another copy of the package map too', () => {
    const foreign = Object.assign(new Error('Hook not found'), { name: 'HookNotFoundError' });
    expect(mapError(foreign).status).to.equal(404);
  });

  it('body-parser errors keep their 4xx status with a fixed message (the parser text can quote the body)', () => {
    const parse = Object.assign(new SyntaxError('Unexpected token s in JSON: "secret"'), { type: 'entity.parse.failed', status: 400 });
    expect(mapError(parse)).to.deep.equal({ status: 400, body: { error: 'Malformed request body: send valid JSON.' } });
    const big = Object.assign(new Error('request entity too large'), { name: 'PayloadTooLargeError', type: 'entity.too.large', status: 413 });
    expect(mapError(big)).to.deep.equal({ status: 413, body: { error: 'Request body too large.' } });
  });

  it('a 4xx status without `type` is honoured too, with a fixed message that does not quote the URL or the body', () => {
    // Express's error for a malformed %-escape in a route parameter quotes the raw parameter: a token.
    const uri = Object.assign(new URIError("Failed to decode param 'secret-token%ZZ'"), { status: 400, statusCode: 400 });
    expect(mapError(uri)).to.deep.equal({ status: 400, body: { error: 'Malformed URL: a path segment has invalid percent-encoding (each %XX must be part of valid UTF-8).' } });
    // body-parser re-raises a zlib error for a corrupt gzip body with a status and no type.
    const zlib = Object.assign(new Error('incorrect header check'), { errno: -3, code: 'Z_DATA_ERROR', status: 400 });
    expect(mapError(zlib)).to.deep.equal({ status: 400, body: { error: 'Malformed request body: it could not be decoded with its content-encoding.' } });
    const unsupported = Object.assign(new Error('unsupported content encoding "x-secret"'), { status: 415, type: 'encoding.unsupported' });
    expect(mapError(unsupported).status).to.equal(415);
    expect(mapError(unsupported).body.error).not.to.include('secret');
    const authErr = Object.assign(new Error('token secret-token is revoked'), { statusCode: 401 });
    expect(mapError(authErr)).to.deep.equal({ status: 401, body: { error: 'Unauthorized' } });
    // 5xx statuses are not trusted: a generic 500.
    expect(mapError(Object.assign(new Error('x'), { status: 503 })).status).to.equal(500);
  });

  it('the middleware answers 500 with a generic body, no stack, and logs the route pattern and error class, not the URL or the message', async () => {
    const logs: unknown[][] = [];
    const app = express();
    app.get('/thing/:token', (req) => {
      throw Object.assign(new Error(`kaboom for ${String(req.params.token)}`), { code: 'ECONNRESET' });
    });
    app.use(errorMiddleware((...args) => void logs.push(args)));
    const s = await serve(app);
    try {
      const res = await jsonOf(await fetch(`${s.url}/thing/super-secret-token`));
      expect(res).to.deep.equal({ status: 500, body: { error: 'Internal server error' } });
    } finally {
      await s.close();
    }
    expect(logs).to.have.length(1);
    expect(logs[0]![2]).to.deep.equal({ method: 'GET', route: '/thing/:token', error: 'Error', code: 'ECONNRESET' });
    expect(JSON.stringify(logs)).not.to.include('super-secret-token');
  });
});

describe('express: toJsonSafe', () => {
  it('turns superjson values into plain JSON', () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    const shared = { x: 1 };
    expect(
      toJsonSafe({
        date: new Date(0),
        big: 12345678901234567890n,
        map: new Map([['k', new Set([1, 2])]]),
        objMap: new Map<unknown, unknown>([[1, 'one']]),
        err: new TypeError('nope'),
        url: new URL('https://example.com/a?b=1'),
        re: /x+/g,
        bytes: new Uint8Array([1, 2, 3]),
        nan: NaN,
        undef: undefined,
        arr: [undefined, 1],
        fn: () => 1,
        cyclic,
        twice: [shared, shared],
      }),
    ).to.deep.equal({
      date: '1970-01-01T00:00:00.000Z',
      big: '12345678901234567890',
      map: { k: [1, 2] },
      objMap: [[1, 'one']],
      err: { name: 'TypeError', message: 'nope' },
      url: 'https://example.com/a?b=1',
      re: '/x+/g',
      bytes: 'AQID',
      nan: 'NaN',
      arr: [null, 1],
      cyclic: { a: 1, self: '[Circular]' },
      twice: [{ x: 1 }, { x: 1 }],
    });
  });
});

describe('express: toJsonSafe on hostile values', () => {
  it('does not recurse into a value nested 10 000 deep (no RangeError), and cuts it', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 10_000; i++) deep = i % 2 ? [deep] : { k: deep };
    const json = JSON.stringify(toJsonSafe(deep));
    expect(json).to.include('[Too deep]');
    expect(json).not.to.include('bottom');
    let deepMap: unknown = 1;
    for (let i = 0; i < 10_000; i++) deepMap = new Map([['k', deepMap]]);
    expect(JSON.stringify(toJsonSafe(deepMap))).to.include('[Too deep]');
  });
});

describe('express: buildTimeline', () => {
  const T = 1_700_000_000_000;
  const ev = (type: TimelineEvent['type'], correlationId: string, dt: number, data: unknown = {}): TimelineEvent => ({ type, correlationId, createdAt: T + dt, data });

  it('pairs step events by correlationId into attempts with durations', () => {
    const items = buildTimeline([
      ev('run_created', '', 0),
      ev('run_started', '', 5),
      ev('step_created', 'step_1', 10, { stepName: 'charge' }),
      ev('step_created', 'step_2', 10, { stepName: 'ship' }),
      ev('step_started', 'step_1', 12, { attempt: 1 }),
      ev('step_started', 'step_2', 13, { attempt: 1 }),
      ev('step_retrying', 'step_1', 40, { error: { message: 'card declined' }, retryAfter: new Date(T + 1040) }),
      ev('step_completed', 'step_2', 50, { result: 'secret result' }),
      ev('step_started', 'step_1', 1045, { attempt: 2 }),
      ev('step_started', 'step_1', 2000, { attempt: 3 }), // the worker died during attempt 2
      ev('step_failed', 'step_1', 2100, { error: { message: 'gave up', stack: 'at secret.ts:1' } }),
      ev('run_failed', '', 2200, { error: { message: 'gave up' } }),
    ]);
    expect(items.map((i) => (i.kind === 'run' ? `run ${i.event}` : `${i.kind} ${i.id}`))).to.deep.equal([
      'run created', 'run started', 'step step_1', 'step step_2', 'run failed',
    ]);
    const [charge, ship] = items.filter((i) => i.kind === 'step') as any[];
    expect(charge).to.deep.include({ name: 'charge', status: 'failed', attempts: 3, durationMs: 2088 });
    expect(charge.tries).to.deep.equal([
      { attempt: 1, startedAt: new Date(T + 12).toISOString(), endedAt: new Date(T + 40).toISOString(), durationMs: 28, outcome: 'retrying', error: 'card declined', retryAt: new Date(T + 1040).toISOString() },
      { attempt: 2, startedAt: new Date(T + 1045).toISOString(), outcome: 'running' },
      { attempt: 3, startedAt: new Date(T + 2000).toISOString(), endedAt: new Date(T + 2100).toISOString(), durationMs: 100, outcome: 'failed', error: 'gave up' },
    ]);
    expect(ship).to.deep.include({ name: 'ship', status: 'completed', attempts: 1, durationMs: 37 });
    expect(items.at(-1)).to.deep.equal({ kind: 'run', event: 'failed', at: new Date(T + 2200).toISOString(), error: 'gave up' });
    expect(JSON.stringify(items)).not.to.match(/secret/);
  });

  it('counts hook payloads, tracks sleeps, and only shows the tokens of live hooks', () => {
    const items = buildTimeline([
      ev('run_created', '', 0),
      ev('hook_created', 'hook_1', 1, { token: 'live-token', isWebhook: false }),
      ev('hook_created', 'hook_2', 1, { token: 'gone-token', isWebhook: true }),
      ev('hook_conflict', 'hook_3', 1, { token: 'taken', conflictingRunId: 'wrun_other' }),
      ev('wait_created', 'wait_1', 2, { resumeAt: T + 60_000 }),
      ev('hook_received', 'hook_1', 3, { payload: 'p1' }),
      ev('hook_received', 'hook_1', 4, { payload: 'p2' }),
      ev('hook_received', 'hook_2', 5, { payload: 'p3' }),
      ev('hook_disposed', 'hook_2', 6),
      ev('wait_completed', 'wait_1', 60_010, { resumeAt: T + 60_000 }),
    ]);
    const byId = Object.fromEntries(items.filter((i) => i.kind !== 'run').map((i: any) => [i.id, i]));
    expect(byId.hook_1).to.deep.include({ status: 'waiting', payloads: 2, token: 'live-token', isWebhook: false, lastPayloadAt: new Date(T + 4).toISOString() });
    expect(byId.hook_2).to.deep.include({ status: 'disposed', payloads: 1, isWebhook: true }).and.not.have.property('token');
    expect(byId.hook_3).to.deep.include({ status: 'conflict', payloads: 0 }).and.not.have.property('token');
    expect(byId.wait_1).to.deep.equal({
      kind: 'sleep', id: 'wait_1', status: 'completed', createdAt: new Date(T + 2).toISOString(),
      resumeAt: new Date(T + 60_000).toISOString(), completedAt: new Date(T + 60_010).toISOString(),
    });
    expect(JSON.stringify(items)).not.to.match(/p1|p2|p3/);

    const ended = buildTimeline([ev('hook_created', 'hook_1', 1, { token: 'tk' }), ev('run_completed', '', 2, { output: 1 })]);
    expect(ended[0]).to.deep.include({ status: 'closed' }).and.not.have.property('token');
  });

  it('shows tags, the timeout and a timed-out hook (without its token); a hook claimed by start() is flagged', () => {
    const items = buildTimeline([
      ev('hook_created', 'hook_0', 1, { token: 'claim', isWebhook: false, claimed: true }),
      ev('hook_adopted', 'hook_0', 2, { tags: ['order:42'] }),
      ev('hook_created', 'hook_1', 3, { token: 'tk', isWebhook: false, timeoutAt: T + 1000, tags: ['a', 'b'] }),
      ev('hook_received', 'hook_1', 4, { payload: 'p' }),
      ev('hook_timed_out', 'hook_1', 1000, { timeoutAt: T + 1000 }),
    ]);
    expect(items[0]).to.deep.include({ id: 'hook_0', claimed: true, tags: ['order:42'], status: 'waiting', token: 'claim' });
    expect(items[1]).to.deep.include({ id: 'hook_1', status: 'timed_out', tags: ['a', 'b'], payloads: 1, timeoutAt: new Date(T + 1000).toISOString() });
    expect(items[1]).to.not.have.property('token');
  });
});
