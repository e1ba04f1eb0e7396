/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked statically (Docker
 * is not needed): Redis with AOF and a health check, the app on ${PORT:-3000},
 * a scalable worker running the CLI on the demo's workflows, and an image that
 * runs `npm start` by default.
 */
import { expect } from 'chai';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

interface Service {
  image?: string;
  build?: unknown;
  command?: string | string[];
  ports?: unknown[];
  environment?: Record<string, string> | string[];
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string | string[] };
  volumes?: string[];
  container_name?: string;
  [k: string]: unknown;
}

/** The environment of a service as a map (compose accepts a map or a list of KEY=VALUE). */
function env(s: Service): Record<string, string> {
  const e = s.environment ?? {};
  if (!Array.isArray(e)) return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
  return Object.fromEntries(e.map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
}

const words = (c: string | string[] | undefined) => (Array.isArray(c) ? c : (c ?? '').split(/\s+/).filter(Boolean));

describe('deploy: docker-compose.yml and Dockerfile', () => {
  let compose: { services: Record<string, Service>; volumes?: Record<string, unknown> };
  before(() => {
    compose = parse(read('docker-compose.yml')) as typeof compose;
  });

  it('has the services redis, app and worker', () => {
    expect(Object.keys(compose.services)).to.have.members(['redis', 'app', 'worker']);
  });

  it('redis: redis:7-alpine with AOF (everysec) on a named volume and a redis-cli ping health check', () => {
    const redis = compose.services.redis!;
    expect(redis.image).to.equal('redis:7-alpine');
    const cmd = words(redis.command);
    expect(cmd.join(' ')).to.include('--appendonly yes').and.include('--appendfsync everysec');
    const volume = (redis.volumes ?? []).find((v) => v.endsWith(':/data'));
    expect(volume, 'a volume on /data').to.be.a('string');
    const name = volume!.split(':')[0]!;
    expect(name, 'a named volume, not a bind mount').to.match(/^[A-Za-z0-9][\w.-]*$/);
    expect(compose.volumes).to.have.property(name);
    expect(words(redis.healthcheck?.test)).to.include.members(['redis-cli', 'ping']);
  });

  it('app: the demo (npm start) on ${PORT:-3000}, on the compose Redis once it is healthy', () => {
    const app = compose.services.app!;
    expect(app.build).to.exist;
    expect(words(app.command ?? 'npm start')).to.deep.equal(['npm', 'start']);
    expect(app.ports).to.deep.equal(['${PORT:-3000}:3000']);
    expect(env(app)).to.include({ REDIS_URL: 'redis://redis:6379', PORT: '3000' });
    expect(app.depends_on).to.deep.equal({ redis: { condition: 'service_healthy' } });
  });

  it('worker: the CLI worker on the demo workflows, scalable (no container_name, no ports)', () => {
    const worker = compose.services.worker!;
    expect(worker.build ?? worker.image).to.exist;
    const cmd = words(worker.command);
    expect(cmd.slice(0, 5)).to.deep.equal(['node', '--conditions=workflow-redis-source', '--import', 'tsx', 'lib/cli/main.ts']);
    expect(cmd.slice(5)).to.include('worker');
    expect(cmd[cmd.indexOf('--import', 5) + 1]).to.equal('./scripts/demo/workflows.ts');
    expect(env(worker)).to.include({ REDIS_URL: 'redis://redis:6379' });
    expect(worker.depends_on).to.deep.equal({ redis: { condition: 'service_healthy' } });
    expect(worker).not.to.have.property('container_name');
    expect(worker).not.to.have.property('ports');
  });

  it('app and worker share REDIS_URL and the settings workflow code reads', () => {
    const app = env(compose.services.app!);
    const worker = env(compose.services.worker!);
    expect(worker.REDIS_URL).to.equal(app.REDIS_URL);
    for (const k of Object.keys(worker)) if (k in app) expect(worker[k], k).to.equal(app[k]);
    expect(worker.DEMO_APPROVAL_DEADLINE).to.equal(app.DEMO_APPROVAL_DEADLINE);
  });

  it('the worker command names files that exist and the image keeps', () => {
    for (const file of ['lib/cli/main.ts', 'scripts/demo/workflows.ts', 'scripts/demo.ts']) {
      expect(existsSync(join(ROOT, file)), file).to.equal(true);
    }
    expect(read('scripts/demo/workflows.ts')).to.include('defineWorkflow');
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim().replace(/^\/|\/$/g, ''));
    for (const kept of ['lib', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json']) expect(ignored, kept).not.to.include(kept);
  });

  it('Dockerfile: node:20-bookworm-slim, npm ci, the source, CMD npm start', () => {
    expect(existsSync(join(ROOT, 'Dockerfile'))).to.equal(true);
    const lines = read('Dockerfile')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(lines[0]).to.equal('FROM node:20-bookworm-slim');
    const ci = lines.findIndex((l) => /^RUN .*\bnpm ci\b/.test(l));
    const lockCopy = lines.findIndex((l) => /^COPY .*package-lock\.json/.test(l));
    const srcCopy = lines.findIndex((l) => /^COPY .*\. \.$/.test(l));
    expect(lockCopy, 'package.json and the lock file are copied').to.be.greaterThan(0);
    expect(ci, 'npm ci after copying the lock file').to.be.greaterThan(lockCopy);
    expect(srcCopy, 'the source is copied after npm ci').to.be.greaterThan(ci);
    expect(lines.filter((l) => l.startsWith('CMD '))).to.deep.equal(['CMD ["npm", "start"]']);
    expect(read('package.json')).to.match(/"start":\s*"[^"]*scripts\/demo\.ts"/);
  });

  it('.dockerignore keeps node_modules, local data and git out of the build context', () => {
    const entries = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(entries).to.include.members(['node_modules', '.git', '.data', 'dist']);
  });
});
