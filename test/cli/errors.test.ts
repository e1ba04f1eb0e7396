/**
 * Expected errors: one clear line on stderr, exit code 1, no stack trace, and
 * never the payload or the token the user passed.
 */
import { expect } from 'chai';
import { createServer } from 'node:net';
import { freePort, startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { hasStack, runCli, type CliResult } from './_cli.js';

function expectFailure(r: CliResult, message: string | RegExp): void {
  expect(r.code, `stdout: ${r.stdout}\nstderr: ${r.stderr}`).to.equal(1);
  if (typeof message === 'string') expect(r.stderr).to.include(message);
  else expect(r.stderr).to.match(message);
  expect(hasStack(r.stderr), r.stderr).to.equal(false);
  expect(r.stdout).to.equal('');
}

describe('cli: errors', function () {
  this.timeout(60_000);

  describe('Redis unreachable', () => {
    let url: string;
    before(async () => {
      url = `redis://127.0.0.1:${await freePort()}`; // nothing listens there
    });

    const commands: string[][] = [
      ['runs', 'list'],
      ['runs', 'show', 'wrun_x'],
      ['hooks', 'show', 'tok'],
      ['resume', 'tok', '{"a":1}'],
      ['cancel', 'wrun_x'],
      ['worker', '--import', 'test/cli/fixtures/workflows.ts'],
    ];
    for (const cmd of commands) {
      it(`"${cmd.slice(0, 2).join(' ')}" exits 1 within a few seconds with a clear message`, async () => {
        const r = await runCli(['--redis', url, ...cmd], { timeoutMs: 20_000 });
        expectFailure(r, `Cannot reach Redis at ${url}: connect ECONNREFUSED`);
        expect(r.stderr).to.include('Start Redis or pass --redis / set REDIS_URL.');
        expect(r.stderr.trim().split('\n'), 'one line').to.have.length(1);
        expect(r.ms).to.be.below(5000);
      });
    }

    it('a port that accepts connections and closes them: "runs list" and "worker" exit 1 within 5 s, one line', async () => {
      const server = createServer((sock) => sock.destroy());
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
      const hangUp = `redis://127.0.0.1:${(server.address() as { port: number }).port}`;
      try {
        for (const cmd of [['runs', 'list'], ['worker', '--import', 'test/cli/fixtures/workflows.ts']]) {
          const r = await runCli(['--redis', hangUp, ...cmd], { timeoutMs: 20_000 });
          expectFailure(r, `Cannot reach Redis at ${hangUp}: the server closed the connection`);
          expect(r.stderr.trim().split('\n'), r.stderr).to.have.length(1);
          expect(r.ms).to.be.below(5000);
        }
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
      }
    });

    it('takes the URL from REDIS_URL, and hides its password', async () => {
      const withPassword = url.replace('redis://', 'redis://user:s3cret@');
      const r = await runCli(['runs', 'list'], { env: { REDIS_URL: withPassword } });
      expectFailure(r, 'Cannot reach Redis at redis://***@127.0.0.1:');
      expect(r.stderr).not.to.include('s3cret');
    });
  });

  it('rejects a Redis URL that is not redis:// or rediss://', async () => {
    expectFailure(await runCli(['--redis', 'http://localhost:6379', 'runs', 'list']), 'Invalid Redis URL "http://localhost:6379"');
  });

  it('rejects an invalid prefix', async () => {
    expectFailure(await runCli(['--prefix', '{bad}', 'runs', 'list']), 'Invalid prefix "{bad}"');
  });

  describe('with Redis', () => {
    let redis: TestRedis;
    let prefix: string;
    before(async () => {
      redis = await startRedis();
      prefix = uniquePrefix('clierr');
    });
    after(async () => {
      await redis?.stop();
    });
    const cli = (...args: string[]) => runCli(['--redis', redis.url, '--prefix', prefix, ...args]);

    it('resume: invalid JSON exits 1 without echoing the payload', async () => {
      const r = await cli('resume', 'some-token', '{"secret": hunter2}');
      expectFailure(r, 'Invalid JSON payload');
      expect(r.stderr).not.to.include('hunter2');
      expect(r.stderr).not.to.include('some-token');
      expectFailure(await cli('resume', 'some-token', ''), 'Invalid JSON payload (it is empty)');
    });

    it('resume: invalid JSON on stdin (-) exits 1', async () => {
      const r = await runCli(['--redis', redis.url, '--prefix', prefix, 'resume', 'tok', '-'], { input: 'not json' });
      expectFailure(r, 'Invalid JSON payload');
    });

    it('resume and hooks show: an unknown token is "Hook not found", without the token', async () => {
      for (const r of [await cli('resume', 'secret-token-123', '{"ok":true}'), await cli('hooks', 'show', 'secret-token-123')]) {
        expectFailure(r, `Hook not found (prefix "${prefix}"): no live hook holds this token`);
        expect(r.stderr).not.to.include('secret-token-123');
      }
    });

    it('hooks show: an empty token is a typed error', async () => {
      expectFailure(await cli('hooks', 'show', ''), 'The hook token is empty');
    });

    it('runs show and cancel: an unknown run is "not found"', async () => {
      for (const cmd of [['runs', 'show', 'wrun_missing'], ['cancel', 'wrun_missing']]) {
        expectFailure(await cli(...cmd), `Run "wrun_missing" not found (prefix "${prefix}")`);
      }
    });

    it('runs show: an invalid run id is a typed error', async () => {
      expectFailure(await cli('runs', 'show', '12345'), 'Invalid run id "12345"');
    });

    it('runs list: an empty prefix prints "No runs found"', async () => {
      const r = await cli('runs', 'list');
      expect(r.code).to.equal(0);
      expect(r.stdout).to.include(`No runs found (prefix "${prefix}")`);
      const json = await cli('runs', 'list', '--json');
      expect(JSON.parse(json.stdout)).to.deep.equal({ data: [], cursor: null, hasMore: false });
    });

    it('worker: a missing, failing or workflow-less module exits 1', async () => {
      expectFailure(await cli('worker', '--import', './test/cli/fixtures/nope.ts'), 'Cannot find the module "./test/cli/fixtures/nope.ts"');
      expectFailure(await cli('worker', '--import', 'test/cli/fixtures/broken.ts'), 'Cannot import "test/cli/fixtures/broken.ts": fixture module failed on purpose');
      expectFailure(await cli('worker', '--import', 'test/cli/fixtures/empty.ts'), 'No workflows found in test/cli/fixtures/empty.ts');
    });
  });
});
