/**
 * `runs tail`: a CLI worker runs a workflow that writes its stream in two
 * steps with a hook between them; `runs tail` prints the first chunks while
 * the run waits, the rest once it is resumed, and exits 0 when the stream ends.
 */
import { expect } from 'chai';
import { closeWorkflowClient, configure, getHookByToken, resumeHook, start } from '../../lib/api.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { streamer, streamToken } from './fixtures/workflows.js';
import { killAll, runCli, spawnCli, type CliProcess } from './_cli.js';

describe('cli: runs tail', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let prefix: string;
  let worker: CliProcess;

  before(async () => {
    redis = await startRedis();
    prefix = uniquePrefix('cli-tail');
    configure({ connection: redis.url, prefix });
    worker = spawnCli(['--redis', redis.url, '--prefix', prefix, 'worker', '--import', 'test/cli/fixtures/workflows.ts']);
    await worker.waitForLine(/ready/);
  });
  after(async () => {
    killAll();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('prints chunks as they arrive (strings as they are, other values as JSON) and exits 0 when the stream ends', async () => {
    const run = await start(streamer, ['a']);
    const tail = spawnCli(['--redis', redis.url, '--prefix', prefix, 'runs', 'tail', run.runId]);
    await tail.waitForLine(/^\{"n":3\}$/);
    expect(tail.stdout()).to.equal('one\ntwo\n{"n":3}\n');
    await waitFor(() => getHookByToken(streamToken('a')), { what: 'the hook' });
    await resumeHook(streamToken('a'), {});
    const done = await tail.exited;
    expect(done.code, done.stderr).to.equal(0);
    expect(done.stdout).to.equal('one\ntwo\n{"n":3}\nfour\nfive\n');
    const json = await runCli(['--redis', redis.url, '--prefix', prefix, 'runs', 'tail', run.runId, '--from', '-2', '--json']);
    expect(json.stdout).to.equal('"four"\n"five"\n');
  });

  it('an unknown run or a bad --from: exit 1 with one line, nothing printed on stdout', async () => {
    const unknown = await runCli(['--redis', redis.url, '--prefix', prefix, 'runs', 'tail', 'wrun_nope']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stdout).to.equal('');
    expect(unknown.stderr).to.match(/not found/i);
    const bad = await runCli(['--redis', redis.url, '--prefix', prefix, 'runs', 'tail', 'wrun_nope', '--from', 'x']);
    expect(bad.code).to.not.equal(0);
    expect(bad.stderr).to.include('--from');
  });
});
