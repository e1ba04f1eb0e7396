/** In-process unit tests of the CLI's formatting and error helpers (no Redis). */
import { expect } from 'chai';
import { parsePayload } from '../../lib/cli/commands/hooks.js';
import { moduleSpecifier } from '../../lib/cli/commands/worker.js';
import { CliError, resolveGlobals } from '../../lib/cli/context.js';
import { describeError } from '../../lib/cli/errors.js';
import { formatDuration, formatOffset, formatTime, preview, table } from '../../lib/cli/format.js';
import { renderTimeline } from '../../lib/cli/timeline-text.js';
import { HookNotFoundError, WorkflowRunNotFoundError } from '../../lib/api.js';

describe('cli: formatting and errors (unit)', () => {
  it('formats durations and offsets', () => {
    expect(formatDuration(0)).to.equal('0ms');
    expect(formatDuration(999)).to.equal('999ms');
    expect(formatDuration(1234)).to.equal('1.23s');
    expect(formatDuration(12_345)).to.equal('12.3s');
    expect(formatDuration(185_000)).to.equal('3m 05s');
    expect(formatDuration(2 * 3600_000 + 3 * 60_000)).to.equal('2h 03m');
    expect(formatDuration(4 * 86_400_000 + 3600_000)).to.equal('4d 01h');
    expect(formatDuration(-1)).to.equal('-');
    expect(formatOffset(1500, 1000)).to.equal('+500ms');
    expect(formatTime(new Date('2025-01-02T03:04:05.678Z'))).to.equal('2025-01-02 03:04:05.678');
    expect(formatTime(undefined)).to.equal('-');
  });

  it('aligns table columns', () => {
    expect(table(['A', 'BB'], [['xxx', 'y'], ['z', '']])).to.equal('A    BB\nxxx  y\nz');
  });

  it('previews values as one line of plain JSON, cut to a length', () => {
    expect(preview({ at: new Date(0), n: 10n, s: new Set([1]) })).to.equal('{"at":"1970-01-01T00:00:00.000Z","n":"10","s":[1]}');
    expect(preview('x'.repeat(500), 10)).to.have.length(10);
  });

  it('parses payloads; an invalid one is a CliError that does not echo it', () => {
    expect(parsePayload('{"a":[1,2]}')).to.deep.equal({ a: [1, 2] });
    expect(parsePayload('42')).to.equal(42);
    expect(() => parsePayload('{password: hunter2}')).to.throw(CliError, /^Invalid JSON payload/).that.satisfies((e: Error) => !e.message.includes('hunter2'));
  });

  it('resolves the global options from flags, then the environment, then the defaults', () => {
    const saved = { url: process.env.REDIS_URL, prefix: process.env.WORKFLOW_PREFIX };
    try {
      delete process.env.REDIS_URL;
      delete process.env.WORKFLOW_PREFIX;
      expect(resolveGlobals({})).to.deep.equal({ redis: 'redis://127.0.0.1:6379', prefix: 'wf' });
      process.env.REDIS_URL = 'redis://h:1';
      process.env.WORKFLOW_PREFIX = 'p1';
      expect(resolveGlobals({})).to.deep.equal({ redis: 'redis://h:1', prefix: 'p1' });
      expect(resolveGlobals({ redis: 'rediss://x:2', prefix: 'p2' })).to.deep.equal({ redis: 'rediss://x:2', prefix: 'p2' });
      expect(() => resolveGlobals({ redis: 'localhost:6379' })).to.throw(CliError, /Invalid Redis URL/);
    } finally {
      if (saved.url === undefined) delete process.env.REDIS_URL;
      else process.env.REDIS_URL = saved.url;
      if (saved.prefix === undefined) delete process.env.WORKFLOW_PREFIX;
      else process.env.WORKFLOW_PREFIX = saved.prefix;
    }
  });

  it('maps errors to messages without tokens, and flags unexpected ones', () => {
    const hook = describeError(new HookNotFoundError('tok-secret'), { prefix: 'wf' });
    expect(hook).to.deep.equal({ message: 'Hook not found (prefix "wf"): no live hook holds this token (it is unknown, was disposed, or its run has finished).', expected: true });
    expect(describeError(new WorkflowRunNotFoundError('wrun_1')).message).to.match(/^Run "wrun_1" not found\./);
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' });
    expect(describeError(refused, { redis: 'redis://u:pw@127.0.0.1:9' }).message).to.equal(
      'Cannot reach Redis at redis://***@127.0.0.1:9: connect ECONNREFUSED 127.0.0.1:9. Start Redis or pass --redis / set REDIS_URL.',
    );
    expect(describeError(new TypeError('boom'))).to.deep.equal({ message: 'Unexpected error: boom', expected: false });
  });

  it('resolves --import paths against the working directory', () => {
    expect(moduleSpecifier('test/cli/fixtures/workflows.ts')).to.match(/^file:\/\/.*\/test\/cli\/fixtures\/workflows\.ts$/);
    expect(() => moduleSpecifier('./missing.js')).to.throw(CliError, /Cannot find the module "\.\/missing\.js"/);
    expect(moduleSpecifier('some-package')).to.equal('some-package');
  });

  it('renders step attempts, hooks and sleeps on timeline rows', () => {
    const t = (ms: number) => new Date(1000 + ms).toISOString();
    const text = renderTimeline(
      [
        { kind: 'run', event: 'created', at: t(0) },
        {
          kind: 'step', id: 'step_1', name: 'charge', status: 'completed', attempts: 2, createdAt: t(5), startedAt: t(5), endedAt: t(60), durationMs: 55,
          tries: [
            { attempt: 1, startedAt: t(5), endedAt: t(10), durationMs: 5, outcome: 'retrying', error: 'boom', retryAt: t(40) },
            { attempt: 2, startedAt: t(40), endedAt: t(60), durationMs: 20, outcome: 'completed' },
          ],
        },
        { kind: 'hook', id: 'hook_1', isWebhook: true, status: 'waiting', payloads: 2, createdAt: t(70), lastPayloadAt: t(90), token: 'never-printed' },
        { kind: 'sleep', id: 'wait_1', status: 'waiting', createdAt: t(100), resumeAt: t(60_100) },
      ],
      1000,
    );
    expect(text).not.to.include('never-printed');
    expect(text.split('\n')).to.deep.equal([
      'AT      KIND     NAME         STATUS     DETAILS',
      '+0ms    run                   created',
      '+5ms    step     charge       completed  took 55ms, 2 attempts',
      '+5ms               attempt 1  retrying   5ms, error: boom, retry at +40ms',
      '+40ms              attempt 2  completed  20ms',
      '+70ms   webhook  hook_1       waiting    2 payloads, last at +90ms',
      '+100ms  sleep    wait_1       waiting    for 1m 00s, until +1m 00s',
    ]);
  });
});
