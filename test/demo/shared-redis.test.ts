/**
 * scripts/shared-redis.ts: the demo's one redis-server per data directory,
 * with real redis-server processes in temporary data directories.
 */
import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probe } from '../../scripts/redis-launcher.js';
import { launchSharedRedis, REDIS_LOCK_FILE, RedisDataDirBusyError, type SharedRedis } from '../../scripts/shared-redis.js';
import { freePort, startRedis, waitFor } from '../helpers/redis.js';

/** The PID of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('demo: one redis-server per data directory (launchSharedRedis)', function () {
  this.timeout(60_000);
  let dataDir: string;
  let launched: SharedRedis[];

  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'wfr-shared-'));
    launched = [];
  });
  afterEach(async () => {
    for (const r of launched.reverse()) await r.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const launch = async (port?: number, startTimeoutMs?: number) => {
    const r = await launchSharedRedis({ dataDir, port: port ?? (await freePort()), appendonly: true, startTimeoutMs });
    launched.push(r);
    return r;
  };
  const lockPath = () => join(dataDir, REDIS_LOCK_FILE);

  it('a second launch on the same directory reuses the running server; only the owner stops it', async () => {
    const first = await launch();
    expect(first.how).to.equal('started');
    const second = await launch(await freePort());
    expect(second).to.include({ how: 'reused', pid: first.pid, url: first.url, port: first.port });
    expect(JSON.parse(readFileSync(lockPath(), 'utf8'))).to.deep.equal({ ownerPid: process.pid, port: first.port, redisPid: first.pid });

    await second.stop();
    expect(await probe(first.port, 1000), 'a reused server keeps running').to.equal(first.pid);
    await first.stop();
    expect(alive(first.pid)).to.equal(false);
    expect(existsSync(lockPath()), 'the lock goes with the server').to.equal(false);
  });

  it('two launches at once start one server', async () => {
    const port = await freePort();
    const both = await Promise.all([launch(port), launch(port)]);
    expect(both.map((r) => r.how).sort()).to.deep.equal(['reused', 'started']);
    expect(both[0]!.pid).to.equal(both[1]!.pid);
  });

  it('takes over a stale lock (its server and owner are gone) and an unreadable one', async () => {
    const dead = await deadPid();
    writeFileSync(lockPath(), JSON.stringify({ ownerPid: dead, port: await freePort(), redisPid: dead }));
    const r = await launch();
    expect(r.how).to.equal('started');
    expect(await probe(r.port, 1000)).to.equal(r.pid);
    await r.stop();

    writeFileSync(lockPath(), '{ half a lock');
    expect((await launch()).how).to.equal('started');
  });

  it('adopts a live server whose owner died, and stops it', async () => {
    const first = await launch();
    const lock = JSON.parse(readFileSync(lockPath(), 'utf8')) as { ownerPid: number };
    writeFileSync(lockPath(), JSON.stringify({ ...lock, ownerPid: await deadPid() }));
    const adopter = await launch();
    expect(adopter).to.include({ how: 'adopted', pid: first.pid, port: first.port });
    expect(JSON.parse(readFileSync(lockPath(), 'utf8')).ownerPid).to.equal(process.pid);
    await adopter.stop();
    await waitFor(() => !alive(first.pid), { timeoutMs: 10_000, what: 'the adopted server to exit' });
    expect(existsSync(lockPath())).to.equal(false);
  });

  it('refuses when the directory\'s redis-server is alive but does not answer', async () => {
    const first = await launch();
    process.kill(first.pid, 'SIGSTOP');
    try {
      const err = await launchSharedRedis({ dataDir, port: await freePort(), startTimeoutMs: 1500 }).then(
        () => undefined,
        (e: Error) => e,
      );
      expect(err).to.be.instanceOf(RedisDataDirBusyError);
      expect(err!.message).to.include(`redis-server (pid ${first.pid}) holds`).and.include(`kill ${first.pid}`);
    } finally {
      process.kill(first.pid, 'SIGCONT');
    }
    expect(await probe(first.port, 1000), 'the server was left alone').to.equal(first.pid);
  });

  it('refuses a port another program holds, and leaves no lock', async () => {
    const holder = createServer((socket) => socket.destroy());
    const port = await new Promise<number>((resolve) => holder.listen(0, '127.0.0.1', () => resolve((holder.address() as { port: number }).port)));
    try {
      const err = await launchSharedRedis({ dataDir, port }).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(RedisDataDirBusyError);
      expect(err!.message).to.equal(`Port ${port} on 127.0.0.1 is taken by another program: choose another port for the demo Redis with DEMO_REDIS_PORT.`);
      expect(existsSync(lockPath())).to.equal(false);
    } finally {
      holder.close();
    }
  });

  it('refuses a port another Redis already listens on, and leaves no lock', async () => {
    const otherDir = mkdtempSync(join(tmpdir(), 'wfr-other-'));
    const other = await startRedis({ port: await freePort(), dir: otherDir });
    try {
      const err = await launchSharedRedis({ dataDir, port: other.port }).then(() => undefined, (e: Error) => e);
      expect(err).to.be.instanceOf(RedisDataDirBusyError);
      expect(err!.message).to.include(`Another Redis (pid ${other.pid}) already listens on 127.0.0.1:${other.port}`);
      expect(existsSync(lockPath())).to.equal(false);
    } finally {
      await other.stop();
      rmSync(otherDir, { recursive: true, force: true });
    }
  });
});
