/**
 * Every command against a real Redis, with a CLI worker
 * (`worker --import test/cli/fixtures/workflows.ts`) running the runs the
 * test starts through the API with the same prefix.
 */
import { expect } from 'chai';
import { closeWorkflowClient, configure, getHookByToken, getRun, start, type Run } from '../../lib/api.js';
import { startRedis, uniquePrefix, waitFor, type TestRedis } from '../helpers/redis.js';
import { greet, greetToken, quick } from './fixtures/workflows.js';
import { hasStack, killAll, runCli, spawnCli, type CliProcess } from './_cli.js';

describe('cli: commands', function () {
  this.timeout(60_000);
  let redis: TestRedis;
  let prefix: string;
  let worker: CliProcess;
  let ada: Run;
  let quickRun: Run;

  const cli = (...args: string[]) => runCli(['--redis', redis.url, '--prefix', prefix, ...args]);
  async function ok(...args: string[]): Promise<string> {
    const r = await cli(...args);
    expect(r.code, `${args.join(' ')}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(0);
    expect(hasStack(r.stderr), r.stderr).to.equal(false);
    return r.stdout;
  }
  const okJson = async (...args: string[]) => JSON.parse(await ok(...args, '--json')) as Record<string, any>;
  const waitForHook = (token: string) => waitFor(() => getHookByToken(token), { what: 'the hook' });

  before(async () => {
    redis = await startRedis();
    prefix = uniquePrefix('cli');
    configure({ connection: redis.url, prefix });
    worker = spawnCli(['--redis', redis.url, '--prefix', prefix, 'worker', '--import', 'test/cli/fixtures/workflows.ts', '--concurrency', '4']);
    const ready = await worker.waitForLine(/ready/);
    expect(ready).to.include('cli.greet').and.include('cli.quick').and.include(`prefix "${prefix}"`).and.include('concurrency 4');
  });

  after(async () => {
    killAll();
    await closeWorkflowClient();
    await redis?.stop();
  });

  it('the CLI worker runs workflows started through the API', async () => {
    quickRun = await start(quick, [21]);
    expect(await quickRun.returnValue).to.deep.equal({ doubled: 42 });
    ada = await start(greet, ['ada']);
    const hook = await waitForHook(greetToken('ada'));
    expect(hook.runId).to.equal(ada.runId);
  });

  it('runs list: a table, newest first, with filters, limit and cursor', async () => {
    const out = await ok('runs', 'list');
    const lines = out.trim().split('\n');
    expect(lines[0]).to.match(/^RUN ID\s+WORKFLOW\s+VERSION\s+STATUS\s+CREATED \(UTC\)\s+DURATION$/);
    expect(lines[1]).to.match(new RegExp(`^${ada.runId}\\s+cli\\.greet\\s+1\\s+running\\s+\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+.+ so far$`));
    expect(lines[2]).to.match(new RegExp(`^${quickRun.runId}\\s+cli\\.quick\\s+1\\s+completed\\s+.*\\d+(ms|s)$`));

    const running = await ok('runs', 'list', '--status', 'running');
    expect(running).to.include(ada.runId).and.not.include(quickRun.runId);
    const quickOnly = await ok('runs', 'list', '--workflow', 'cli.quick');
    expect(quickOnly).to.include(quickRun.runId).and.not.include(ada.runId);
    expect(await ok('runs', 'list', '--workflow', 'cli.quick', '--workflow-version', '1')).to.include(quickRun.runId);
    expect(await ok('runs', 'list', '--workflow', 'cli.quick', '--workflow-version', '2')).to.include('No runs found').and.include('version 2');

    const first = await ok('runs', 'list', '--limit', '1');
    expect(first).to.include(ada.runId).and.include('More runs: add --cursor 1');
    const second = await ok('runs', 'list', '--limit', '1', '--cursor', '1');
    expect(second).to.include(quickRun.runId).and.not.include('More runs');
  });

  it('runs list --json: { data, cursor, hasMore } with plain JSON runs', async () => {
    const page = await okJson('runs', 'list', '--limit', '1');
    expect(page.hasMore).to.equal(true);
    expect(page.cursor).to.equal('1');
    expect(page.data).to.have.length(1);
    expect(page.data[0]).to.include({ runId: ada.runId, workflowName: 'cli.greet', status: 'running' });
    expect(page.data[0].createdAt).to.match(/^\d{4}-\d\d-\d\dT.*Z$/);
    const done = await okJson('runs', 'list', '--status', 'completed');
    expect(done.data).to.have.length(1);
    expect(done.data[0]).to.deep.include({ runId: quickRun.runId, status: 'completed', output: { doubled: 42 } });
    expect(done.data[0].durationMs).to.be.a('number');
    expect(done.data[0]).not.to.have.property('input');
  });

  it('runs show: the summary and a readable timeline, without the hook token', async () => {
    const out = await ok('runs', 'show', ada.runId);
    expect(out).to.match(new RegExp(`^Run\\s+${ada.runId}$`, 'm'));
    expect(out).to.match(/^Workflow\s+cli\.greet \(version 1\)$/m).and.match(/^Status\s+running$/m);
    expect(out).to.match(/^AT\s+KIND\s+NAME\s+STATUS\s+DETAILS$/m);
    expect(out).to.match(/^\+0ms\s+run\s+created$/m);
    expect(out).to.match(/^\+\S+\s+step\s+cli\.shout\s+completed\s+took \d+ms, 1 attempt$/m);
    expect(out).to.match(/^\+\S+\s+step\s+cli\.flaky\s+completed\s+took \S+, 2 attempts$/m);
    expect(out).to.match(/^\+\S+\s+attempt 1\s+retrying\s+\d+ms, error: first attempt fails/m);
    expect(out).to.match(/^\+\S+\s+attempt 2\s+completed\s+\d+ms$/m);
    expect(out).to.match(/^\+\S+\s+sleep\s+\S+\s+completed\s+for \d+ms, until \+\S+, woke at \+\S+$/m);
    expect(out).to.match(/^\+\S+\s+hook\s+\S+\s+waiting\s+0 payloads, tags cli:greet$/m);
    expect(out).not.to.include(greetToken('ada'));
  });

  it('runs show --json: run, timeline, events (no data, no token)', async () => {
    const doc = await okJson('runs', 'show', ada.runId);
    expect(doc.run).to.include({ runId: ada.runId, workflowName: 'cli.greet', status: 'running' });
    const kinds = (doc.timeline as { kind: string }[]).map((i) => i.kind);
    expect(kinds).to.deep.equal(['run', 'run', 'step', 'step', 'sleep', 'hook']);
    const flaky = doc.timeline.find((i: any) => i.name === 'cli.flaky');
    expect(flaky).to.include({ status: 'completed', attempts: 2 });
    expect(flaky.tries.map((t: any) => t.outcome)).to.deep.equal(['retrying', 'completed']);
    expect(doc.events[0]).to.have.keys(['eventId', 'type', 'correlationId', 'createdAt']);
    expect(doc.events.map((e: any) => e.type)).to.include.members(['run_created', 'step_completed', 'wait_created', 'hook_created']);
    expect(doc.eventCount).to.equal(doc.events.length);
    expect(doc.truncated).to.equal(false);
    expect(JSON.stringify(doc)).not.to.include(greetToken('ada'));
  });

  it('hooks show: the hook, with its token and metadata', async () => {
    const out = await ok('hooks', 'show', greetToken('ada'));
    expect(out).to.match(new RegExp(`^Token\\s+${greetToken('ada')}$`, 'm'));
    expect(out).to.match(new RegExp(`^Run\\s+${ada.runId}$`, 'm'));
    expect(out).to.match(/^Hook\s+\S+$/m).and.match(/^Created\s+\d{4}-/m).and.match(/^Webhook\s+no$/m);
    expect(out).to.match(/^Metadata\s+\{"purpose":"approval"\}$/m);
    expect(out).to.match(/^Tags\s+cli:greet$/m).and.match(/^Timeout\s+-$/m);
    const doc = await okJson('hooks', 'show', greetToken('ada'));
    expect(doc).to.deep.include({ runId: ada.runId, token: greetToken('ada'), isWebhook: false, metadata: { purpose: 'approval' } });
    expect(doc.hookId).to.be.a('string');
    expect(doc.createdAt).to.match(/Z$/);
  });

  it('resume: sends the payload, prints the run id, and the run completes', async () => {
    const out = await ok('resume', greetToken('ada'), '{"ok":true}');
    expect(out.trim()).to.equal(ada.runId);
    expect(await ada.returnValue).to.deep.equal({ greeting: 'HELLO ADA!', ok: true });
    const show = await ok('runs', 'show', ada.runId);
    expect(show).to.match(/^Status\s+completed$/m).and.match(/^Ended\s+.+\(after .+\)$/m);
    expect(show).to.match(/^Output\s+\{"greeting":"HELLO ADA!","ok":true\}$/m);
    expect(show).to.match(/^\+\S+\s+hook\s+\S+\s+closed\s+1 payload, last at \+\S+, tags cli:greet$/m);
    expect(show).to.match(/^\+\S+\s+run\s+completed$/m);
  });

  it('resume --json and resume - (payload on stdin)', async () => {
    const run1 = await start(greet, ['grace']);
    await waitForHook(greetToken('grace'));
    const doc = await okJson('resume', greetToken('grace'), '{"ok":false}');
    expect(doc).to.include({ runId: run1.runId, isWebhook: false });
    expect(doc.hookId).to.be.a('string');
    expect(await run1.returnValue).to.deep.equal({ greeting: 'HELLO GRACE!', ok: false });

    const run2 = await start(greet, ['linus']);
    await waitForHook(greetToken('linus'));
    const r = await runCli(['--redis', redis.url, '--prefix', prefix, 'resume', greetToken('linus'), '-'], { input: '{"ok": true}\n' });
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout.trim()).to.equal(run2.runId);
    expect(await run2.returnValue).to.deep.equal({ greeting: 'HELLO LINUS!', ok: true });
  });

  it('cancel: cancels a running run (its token is released), is idempotent, refuses a finished run', async () => {
    const run = await start(greet, ['bob']);
    await waitForHook(greetToken('bob'));
    expect((await ok('cancel', run.runId)).trim()).to.equal(`Cancelled run ${run.runId}.`);
    expect(await getRun(run.runId).status).to.equal('cancelled');
    const hook = await cli('hooks', 'show', greetToken('bob'));
    expect(hook.code).to.equal(1);
    expect(hook.stderr).to.include('Hook not found');

    expect((await ok('cancel', run.runId)).trim()).to.equal(`Run ${run.runId} was already cancelled.`);
    expect(await okJson('cancel', run.runId)).to.deep.equal({ runId: run.runId, status: 'cancelled', cancelled: false });

    const done = await cli('cancel', ada.runId);
    expect(done.code).to.equal(1);
    expect(done.stderr.trim()).to.equal(`Error: Run "${ada.runId}" has already completed: there is nothing to cancel.`);
  });

  it('takes the Redis URL and the prefix from REDIS_URL and WORKFLOW_PREFIX', async () => {
    const r = await runCli(['runs', 'list', '--workflow', 'cli.quick', '--json'], { env: { REDIS_URL: redis.url, WORKFLOW_PREFIX: prefix } });
    expect(r.code, r.stderr).to.equal(0);
    expect((JSON.parse(r.stdout) as { data: { runId: string }[] }).data.map((d) => d.runId)).to.deep.equal([quickRun.runId]);
  });

  it('the worker drains and exits 0 on SIGTERM, without printing tokens or payloads', async () => {
    worker.signal('SIGTERM');
    const r = await worker.exited;
    expect(r.code, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/Received SIGTERM: draining/).and.match(/Worker w-\S+ stopped\./);
    const all = r.stdout + r.stderr;
    for (const secret of ['cli-approve:', '"ok":true', 'HELLO']) expect(all).not.to.include(secret);
  });
});
