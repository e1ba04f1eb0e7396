/**
 * One module instance per process, whichever format loads the package: the
 * built package (dist/, as `npm test` builds it) is loaded in a plain Node
 * process by import() and by require() (fixtures/same-instance.mjs); and the
 * repo's own tests load the TypeScript sources, not dist/ (tsconfig paths).
 */
import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startRedis, uniquePrefix, type TestRedis } from '../helpers/redis.js';
import { cleanNpmEnv, exec } from './_exec.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

describe('one module instance for import() and require()', function () {
  let redis: TestRedis;
  // Plain node, no tsx: `workflow-redis` resolves (self-reference) through the exports map to dist/.
  const node = (script: string, env: NodeJS.ProcessEnv = {}) =>
    exec(process.execPath, [fixture(script)], { cwd: ROOT, env: cleanNpmEnv(env), timeoutMs: 60_000, label: script });

  before(async function () {
    if (!existsSync(new URL('../../dist/api.js', import.meta.url))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
    redis = await startRedis();
  });

  after(async function () {
    await redis?.stop();
  });

  it('the built package: same namespace, shared config, registry and error classes', async function () {
    const r = await node('same-instance.mjs', { REDIS_URL: redis.url, WF_PREFIX: uniquePrefix('inst') });
    expect(r.stderr, 'stderr').to.equal('');
    expect(r.stdout.trim()).to.equal('same instance');
    expect(r.code).to.equal(0);
  });

  it('the built package: require() of every subpath works, without a warning, with the exports import() sees', async function () {
    const [esm, cjs] = await Promise.all([node('import-all.mjs'), node('require-all.cjs')]);
    for (const r of [esm, cjs]) {
      expect(r.stderr, 'stderr').to.equal('');
      expect(r.code).to.equal(0);
    }
    expect(JSON.parse(cjs.stdout)).to.deep.equal(JSON.parse(esm.stdout));
    expect(Object.keys(JSON.parse(esm.stdout))).to.have.length(5);
  });

  it("the repo's tests import the package by name and get the TypeScript sources", async function () {
    const byName = await import('workflow-redis/api');
    const source = await import('../../lib/runtime/config.js');
    // Not dist/'s copy: a test that also imports lib/ modules directly shares their state.
    expect(byName.configure).to.equal(source.configure);
  });
});
