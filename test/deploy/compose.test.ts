/**
 * docker-compose.yml, Dockerfile and .dockerignore, checked statically (Docker
 * is not needed): Redis with AOF and a health check, the app on ${PORT:-3000}
 * without an in-process worker unless DEMO_WORKER=1, PUBLIC_URL following the
 * host port, a scalable worker running the compiled CLI on the demo's
 * compiled workflows, and a multi-stage image: node 24, production
 * dependencies only in the final stage, a non-root user, plain node.
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

/** Compose's interpolation, the subset this file uses: `$$`, `${VAR}` and `${VAR:-default}`, nested. */
function interpolate(value: string, vars: Record<string, string>): string {
  let out = '';
  for (let i = 0; i < value.length; ) {
    if (value.startsWith('$$', i)) {
      out += '$';
      i += 2;
    } else if (value.startsWith('${', i)) {
      let depth = 0;
      let j = i;
      for (; j < value.length; j++) {
        if (value.startsWith('${', j)) {
          depth++;
          j++;
        } else if (value[j] === '}' && --depth === 0) break;
      }
      const m = /^([A-Za-z_]\w*)(?::-(.*))?$/s.exec(value.slice(i + 2, j));
      if (!m) throw new Error(`interpolation not covered by this test: ${value.slice(i, j + 1)}`);
      out += vars[m[1]!] || (m[2] !== undefined ? interpolate(m[2], vars) : '');
      i = j + 1;
    } else {
      out += value[i++];
    }
  }
  return out;
}

/** A service's environment as the container sees it, for the given shell variables. */
const resolvedEnv = (s: Service, vars: Record<string, string> = {}) =>
  Object.fromEntries(Object.entries(env(s)).map(([k, v]) => [k, interpolate(v, vars)]));

/** The Dockerfile's instructions (comments and blank lines dropped, continuations joined), split into stages. */
function dockerfileStages(): string[][] {
  const lines = read('Dockerfile')
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim().replace(/\s+/g, ' '))
    .filter((l) => l && !l.startsWith('#'));
  const stages: string[][] = [];
  for (const l of lines) {
    if (l.startsWith('FROM ')) stages.push([]);
    stages.at(-1)?.push(l);
  }
  return stages;
}

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

  it('app: the compiled demo on ${PORT:-3000}, on the compose Redis once it is healthy, without a worker unless DEMO_WORKER=1', () => {
    const app = compose.services.app!;
    expect(app.build).to.exist;
    expect(words(app.command)).to.deep.equal(['node', 'dist-demo/demo.js']);
    expect(app.ports).to.deep.equal(['${PORT:-3000}:3000']);
    expect(resolvedEnv(app)).to.include({ REDIS_URL: 'redis://redis:6379', PORT: '3000', DEMO_WORKER: '0' });
    expect(resolvedEnv(app, { DEMO_WORKER: '1' }).DEMO_WORKER).to.equal('1');
    expect(app.depends_on).to.deep.equal({ redis: { condition: 'service_healthy' } });
  });

  it('PUBLIC_URL follows the published host port (PORT), in the app and the workers', () => {
    for (const name of ['app', 'worker']) {
      const service = compose.services[name]!;
      expect(resolvedEnv(service).PUBLIC_URL, name).to.equal('http://localhost:3000');
      expect(resolvedEnv(service, { PORT: '8080' }).PUBLIC_URL, name).to.equal('http://localhost:8080');
      expect(resolvedEnv(service, { PORT: '8080', PUBLIC_URL: 'https://demo.example' }).PUBLIC_URL, name).to.equal('https://demo.example');
    }
    expect(interpolate(String(compose.services.app!.ports![0]), { PORT: '8080' })).to.equal('8080:3000');
  });

  it('worker: the compiled CLI worker on the compiled demo workflows, scalable (no container_name, no ports)', () => {
    const worker = compose.services.worker!;
    expect(worker.build ?? worker.image).to.exist;
    expect(words(worker.command)).to.deep.equal(['node', 'dist/cli/main.js', 'worker', '--import', './dist-demo/demo/workflows.js']);
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

  it('the compose commands name files the build stage compiles from sources that exist', () => {
    // lib/cli/main.ts → dist/cli/main.js (npm run build); scripts/X.ts → dist-demo/X.js (the demo's tsc).
    for (const file of ['lib/cli/main.ts', 'scripts/demo/workflows.ts', 'scripts/demo.ts']) {
      expect(existsSync(join(ROOT, file)), file).to.equal(true);
    }
    expect(read('scripts/demo/workflows.ts')).to.include('defineWorkflow');
    expect(read('tsconfig.build.json')).to.match(/"rootDir":\s*"lib"/).and.match(/"outDir":\s*"dist"/);
    const build = dockerfileStages()[0]!.join('\n');
    expect(build).to.match(/^RUN npm run build && npx tsc scripts\/demo\.ts --outDir dist-demo --rootDir scripts /m);
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim().replace(/^\/|\/$/g, ''));
    for (const kept of ['lib', 'scripts', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored, kept).not.to.include(kept);
    }
    expect(read('package.json')).to.match(/"start":\s*"[^"]*scripts\/demo\.ts"/);
  });

  it('Dockerfile: multi-stage on node 24; the build stage compiles with dev dependencies', () => {
    const stages = dockerfileStages();
    expect(stages.length, 'a build stage and a final stage').to.be.at.least(2);
    for (const stage of stages) expect(stage[0]).to.match(/^FROM node:24-(bookworm-slim|alpine)( AS \w+)?$/);
    const build = stages[0]!;
    expect(build[0]).to.match(/ AS build$/);
    const ci = build.findIndex((l) => /^RUN npm ci\b/.test(l));
    expect(build[ci], 'all dependencies to compile').not.to.include('--omit=dev');
    expect(build.findIndex((l) => /^COPY .*package-lock\.json/.test(l)), 'the lock file before npm ci').to.be.within(0, ci - 1);
    expect(build.findIndex((l) => /^COPY (lib|scripts) /.test(l)), 'the sources after npm ci').to.be.greaterThan(ci);
  });

  it('Dockerfile: the final stage has production dependencies only, the compiled code, a non-root user and plain node', () => {
    const final = dockerfileStages().at(-1)!;
    const ci = final.filter((l) => /\bnpm (ci|install|i)\b/.test(l));
    expect(ci, 'one npm ci').to.have.length(1);
    expect(ci[0]).to.match(/^RUN npm ci .*--omit=dev/);
    expect(final.filter((l) => l.startsWith('COPY --from=build'))).to.have.members([
      'COPY --from=build /app/dist ./dist',
      'COPY --from=build /app/dist-demo ./dist-demo',
    ]);
    expect(final.some((l) => /^COPY (\.|lib|scripts) /.test(l)), 'no TypeScript sources').to.equal(false);
    const users = final.filter((l) => l.startsWith('USER '));
    expect(users, 'a USER').to.have.length.greaterThan(0);
    expect(users.at(-1)).to.match(/^USER (?!root\b|0\b)\S+$/);
    expect(final.indexOf(users.at(-1)!), 'the user is set after installing').to.be.greaterThan(final.indexOf(ci[0]!));
    expect(final.filter((l) => l.startsWith('CMD '))).to.deep.equal(['CMD ["node", "dist-demo/demo.js"]']);
    expect(final.join('\n'), 'no tsx at run time').not.to.match(/\btsx\b|--conditions/);
  });

  it('.dockerignore keeps node_modules, local data and git out of the build context', () => {
    const entries = read('.dockerignore')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#'));
    expect(entries).to.include.members(['node_modules', '.git', '.data', 'dist', 'dist-demo']);
  });
});
