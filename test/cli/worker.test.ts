/**
 * `workflow-redis worker`: graceful drain on SIGTERM / SIGINT with a step in
 * flight, and several CLI workers sharing one Redis and prefix.
 */
import { expect } from 'chai';
import { closeWorkflowClient, configure, getHookByToken, getRun, resumeHook, start } from '../../lib/api.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { greet, greetToken, quick, slow } from './fixtures/workflows.js';
import { killAll, runCli, spawnCli, type CliProcess } from './_cli.js';

describe('cli: worker', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let prefix: string;

  const spawnWorker = async (...extra: string[]): Promise<CliProcess> => {
    const w = spawnCli(['--redis', redis.url, '--prefix', prefix, 'worker', '--import', './test/cli/fixtures/workflows.ts', ...extra]);
    await w.waitForLine(/^workflow-redis worker w-\S+ ready/);
    return w;
  };

  before(async () => {
    redis = await startRedis();
  });
  beforeEach(() => {
    prefix = uniquePrefix('cliw');
    configure({ connection: redis.url, prefix });
  });
  afterEach(async () => {
    killAll();
    await closeWorkflowClient();
  });
  after(async () => {
    await redis?.stop();
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} with a step in flight: the step finishes and is recorded, then the worker exits 0`, async () => {
      const w1 = await spawnWorker();
      const run = await start(slow, [1500]);
      await waitFor(async () => (await run.events()).some((e) => e.type === 'step_started'), { what: 'the step to start' });
      w1.signal(signal);
      await w1.waitForLine(new RegExp(`Received ${signal}: draining`));
      const r = await w1.exited;
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(/Worker w-\S+ stopped\./);
      const events = await run.events();
      expect(events.filter((e) => e.type === 'step_completed')).to.have.length(1);

      // The replay that follows the step runs on the next worker.
      await spawnWorker();
      expect(await run.returnValue).to.deep.equal({ result: 'napped 1500ms' });
      expect((await run.events()).filter((e) => e.type === 'step_completed')).to.have.length(1);
    });
  }

  it('scales out: two CLI workers on one prefix complete every run', async () => {
    const [a, b] = await Promise.all([spawnWorker('--concurrency', '2'), spawnWorker('--concurrency', '2')]);
    const runs = await Promise.all(Array.from({ length: 20 }, (_, i) => start(quick, [i])));
    const results = await Promise.all(runs.map((r) => r.returnValue));
    expect(results).to.deep.equal(Array.from({ length: 20 }, (_, i) => ({ doubled: i * 2 })));
    for (const r of runs) expect(await getRun(r.runId).status).to.equal('completed');
    a.signal('SIGTERM');
    b.signal('SIGTERM');
    const exits = await Promise.all([a.exited, b.exited]);
    expect(exits.map((e) => e.code)).to.deep.equal([0, 0]);
  });

  it('--log-level info: lifecycle lines as JSON on stderr (pino), without tokens', async () => {
    const w = await spawnWorker('--log-level', 'info');
    const run = await start(greet, ['Ada']);
    await waitFor(() => getHookByToken(greetToken('Ada')).catch(() => undefined), { what: 'the hook' });
    await resumeHook(greetToken('Ada'), { ok: true });
    await run.returnValue;
    const lines = () =>
      w.stderr().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: string; msg: string; runId?: string; attempt?: number; error?: { message: string } });
    await waitFor(() => lines().some((l) => l.msg === 'run completed' && l.runId === run.runId), { what: 'the run completed line' });
    const mine = lines().filter((l) => l.runId === run.runId);
    expect(mine.map((l) => `${l.level} ${l.msg}`)).to.deep.equal(['info run started', 'info step retrying', 'info run completed']);
    expect(mine[1]).to.deep.include({ attempt: 1, error: { name: 'RetryableError', message: 'first attempt fails' } });
    expect(w.stderr()).not.to.include(greetToken('Ada'));
  });

  it('WORKFLOW_REDIS_LOG_LEVEL=warn: no info lines; --log-level rejects an unknown level', async () => {
    const w = spawnCli(['--redis', redis.url, '--prefix', prefix, 'worker', '--import', './test/cli/fixtures/workflows.ts'], {
      env: { WORKFLOW_REDIS_LOG_LEVEL: 'warn' },
    });
    await w.waitForLine(/^workflow-redis worker w-\S+ ready/);
    const run = await start(quick, [4]);
    await run.returnValue;
    w.signal('SIGTERM');
    const r = await w.exited;
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stderr).to.equal(''); // the run's lines were written (synchronously) before the drain finished

    const bad = await runCli(['--redis', redis.url, 'worker', '--import', './test/cli/fixtures/workflows.ts', '--log-level', 'loud']);
    expect(bad.code).to.equal(1);
    expect(bad.stderr).to.include("option '--log-level <level>' argument 'loud' is invalid. Allowed choices are debug, info, warn, error, silent.");
  });
});
