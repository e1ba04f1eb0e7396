/**
 * Log levels and logger shapes (issue 10): `logLevel` filters what reaches a
 * function logger ('warn' drops the info lifecycle lines, 'info' drops the
 * debug replay lines); a pino instance gets the lines with pino's own
 * signature and level; acquireRun reports the run_started it appended, so a
 * run started by a lease (not by a first commit) is logged once too.
 */
import { expect } from 'chai';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import { defineStep, defineWorkflow, FatalError } from 'workflow-redis';
import { closeWorkflowClient, configure, start } from 'workflow-redis/api';
import { createWorker, type WorkflowWorker } from 'workflow-redis/worker';
import { Store } from '../../lib/redis/store.js';
import { openConnection } from '../../lib/redis/connection.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { expectRejection } from './_util.js';

const N = 'engine-log-levels';
const double = defineStep(`${N}.double`, async (n: number) => n * 2);
const refuse = defineStep(`${N}.refuse`, async () => {
  throw new FatalError('refused on purpose');
});
const ok = defineWorkflow(`${N}.ok`, async (n: number) => double(n));
const bad = defineWorkflow(`${N}.bad`, async () => refuse());

interface Line {
  level: string | number;
  msg: string;
  runId?: string;
  [k: string]: unknown;
}

describe('engine: log levels and logger shapes', function () {
  this.timeout(30_000);
  let redis: TestRedis;
  let worker: WorkflowWorker | undefined;

  /** Runs one completing and one failing run on a worker made with `logOpts`; resolves once the failure is logged. */
  async function runBoth(logOpts: Partial<Parameters<typeof createWorker>[0]>, lines: () => Line[]) {
    const prefix = uniquePrefix('levels');
    configure({ connection: redis.url, prefix });
    worker = await createWorker({ workflows: [ok, bad], connection: redis.url, prefix, ...logOpts });
    const good = await start(ok, [21]);
    expect(await good.returnValue).to.equal(42);
    const failed = await start(bad, []);
    await expectRejection(failed.returnValue, 'WorkflowRunFailedError');
    // The failing run started after the first one completed: its line comes after the first run's lines.
    await waitFor(() => lines().some((l) => l.runId === failed.runId && l.msg === 'run failed'), { what: 'the run failed line' });
    return { good: good.runId, failed: failed.runId };
  }

  before(async () => {
    redis = await startRedis();
  });
  afterEach(async () => {
    await worker?.close();
    worker = undefined;
    await closeWorkflowClient();
  });
  after(async () => {
    await redis?.stop();
  });

  it("logLevel 'warn': only warnings and errors reach a function logger", async () => {
    const lines: Line[] = [];
    const ids = await runBoth({ logLevel: 'warn', logger: (level, msg, fields) => lines.push({ level, msg, ...fields }) }, () => lines);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['warn step failed', 'warn run failed']);
    expect(lines.every((l) => l.runId === ids.failed)).to.equal(true);
  });

  it("logLevel 'info': lifecycle lines, no debug (replay) lines", async () => {
    const lines: Line[] = [];
    const ids = await runBoth({ logLevel: 'info', logger: (level, msg, fields) => lines.push({ level, msg, ...fields }) }, () => lines);
    expect(lines.filter((l) => l.runId === ids.good).map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['info run started', 'info run completed']);
    expect(lines.some((l) => l.level === 'debug')).to.equal(false);
  });

  it("logLevel 'debug': a replay line per wake-up and the steps completed", async () => {
    const lines: Line[] = [];
    const ids = await runBoth({ logLevel: 'debug', logger: (level, msg, fields) => lines.push({ level, msg, ...fields }) }, () => lines);
    const debug = lines.filter((l) => l.runId === ids.good && l.level === 'debug');
    expect(debug.map((l) => l.msg)).to.include.members(['step completed', 'replay']);
    expect(debug.find((l) => l.msg === 'replay')).to.include({ warm: false });
  });

  it('a pino instance: lines with its own level numbers, filtered by its own level', async () => {
    const out: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        out.push(...chunk.toString('utf8').split('\n').filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: 'info' }, sink).child({ app: 'test' });
    const parsed = () => out.map((l) => JSON.parse(l) as Line);
    const ids = await runBoth({ logger }, parsed);
    const lines = parsed();
    const good = lines.filter((l) => l.runId === ids.good);
    expect(good.map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['30 run started', '30 run completed']);
    expect(good[0]).to.include({ app: 'test', workflowName: `${N}.ok` });
    expect(lines.find((l) => l.msg === 'run failed')).to.deep.include({ level: 40, error: { name: 'FatalError', message: 'refused on purpose' } });
    expect(lines.some((l) => l.level === 20), 'debug lines are below its level').to.equal(false);
  });

  it('acquireRun says when it appended run_started (a run started by its lease, not by a first commit)', async () => {
    const store = await Store.open({ client: openConnection(redis.url), prefix: uniquePrefix('levels-acq') });
    try {
      await store.createRun({ runId: 'wrun_acq', workflowName: `${N}.ok`, version: '1', input: '{"json":[1]}', data: '{"json":{}}' });
      const first = await store.acquireRun('wrun_acq', 'owner-1', 5000);
      expect(first.started).to.equal(true);
      await store.releaseRun('wrun_acq', 'owner-1', first.epoch, '');
      const second = await store.acquireRun('wrun_acq', 'owner-2', 5000);
      expect(second.started).to.equal(false);
    } finally {
      await store.close();
      store.client.disconnect();
    }
  });
});
