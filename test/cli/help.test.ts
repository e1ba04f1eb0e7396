/** `--help` and `--version` of every command, and commander's usage errors. */
import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hasStack, ROOT, runCli } from './_cli.js';

describe('cli: help and usage', function () {
  this.timeout(60_000);

  it('prints the top-level help with every command and the global options', async () => {
    const r = await runCli(['--help']);
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/^Usage: workflow-redis/);
    for (const cmd of ['worker', 'runs', 'hooks', 'resume', 'cancel']) expect(r.stdout).to.match(new RegExp(`^\\s+${cmd}\\b`, 'm'));
    expect(r.stdout).to.include('--redis <url>').and.include('REDIS_URL').and.include('redis://127.0.0.1:6379');
    expect(r.stdout).to.include('--prefix <prefix>').and.include('WORKFLOW_PREFIX');
  });

  const commands: [string[], RegExp][] = [
    [['worker'], /--import <module\.\.\.>[\s\S]*--concurrency <n>[\s\S]*SIGTERM/],
    [['runs'], /list[\s\S]*show/],
    [['runs', 'list'], /--status <status>[\s\S]*--workflow <name>[\s\S]*--limit <n>[\s\S]*--json/],
    [['runs', 'show'], /<runId>[\s\S]*--json/],
    [['hooks'], /show/],
    [['hooks', 'show'], /<token>/],
    [['resume'], /<token> <json>/],
    [['cancel'], /<runId>/],
  ];
  for (const [cmd, re] of commands) {
    it(`prints the help of "${cmd.join(' ')}"`, async () => {
      const r = await runCli([...cmd, '--help']);
      expect(r.code, r.stderr).to.equal(0);
      expect(r.stdout).to.match(new RegExp(`^Usage: workflow-redis ${cmd.join(' ')}`));
      expect(r.stdout).to.match(re);
    });
  }

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const r = await runCli(['--version']);
    expect(r.code).to.equal(0);
    expect(r.stdout.trim()).to.equal(version);
  });

  it('rejects an unknown command, a missing argument and a bad option value with exit 1 and no stack', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).to.equal(1);
    expect(unknown.stderr).to.include("unknown command 'frobnicate'");
    const missing = await runCli(['resume', 'tok']);
    expect(missing.code).to.equal(1);
    expect(missing.stderr).to.include("missing required argument 'json'");
    const noImport = await runCli(['worker']);
    expect(noImport.code).to.equal(1);
    expect(noImport.stderr).to.include("required option '--import <module...>' not specified");
    const status = await runCli(['runs', 'list', '--status', 'bogus']);
    expect(status.code).to.equal(1);
    expect(status.stderr).to.include('Allowed choices are pending, running, completed, failed, cancelled');
    const limit = await runCli(['runs', 'list', '--limit', '0']);
    expect(limit.code).to.equal(1);
    expect(limit.stderr).to.include('--limit must be an integer from 1 to 1000');
    for (const r of [unknown, missing, noImport, status, limit]) expect(hasStack(r.stderr), r.stderr).to.equal(false);
  });
});
