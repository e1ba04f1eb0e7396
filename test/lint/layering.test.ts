/**
 * The layering rules of eslint.config.js fail the lint on a violation of each
 * "never" (one snippet per rule and per forbidden target, through `import`,
 * `import type`, `export … from` and at several depths), pass on allowed
 * imports, and pass on the tree as it is. ESLint runs in-process on snippets
 * given a path inside the part they pretend to belong to (no file is written).
 */
import { expect } from 'chai';
import { ESLint, type Linter } from 'eslint';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const RULE = '@typescript-eslint/no-restricted-imports';
const STATIC_ONLY = 'no-restricted-syntax';

/** A snippet as a file of lib/, and what it must produce. */
interface Case {
  file: string;
  code: string;
  /** Words the rule's message must contain (which "never" was hit). */
  says: string;
}

/** One violation per rule and per forbidden target. */
const VIOLATIONS: Case[] = [
  // lib/authoring never imports lib/redis, lib/queue, ioredis or bullmq.
  { file: 'lib/authoring/x.ts', code: "import { createKeyspace } from '../redis/keys.js';\nexport const k = createKeyspace;", says: 'lib/authoring never imports lib/redis' },
  { file: 'lib/authoring/x.ts', code: "import type { Store } from '../redis/store.js';\nexport type S = Store;", says: 'lib/authoring never imports lib/redis' },
  { file: 'lib/authoring/x.ts', code: "export type { ConnectionInput } from '../redis/connection.js';", says: 'lib/authoring never imports lib/redis' },
  { file: 'lib/authoring/x.ts', code: "import { ScriptRunner } from '../redis/scripts.js';\nexport const s = ScriptRunner;", says: 'lib/authoring never imports lib/redis' },
  { file: 'lib/authoring/deep/x.ts', code: "import type { Keyspace } from '../../redis/keys.js';\nexport type K = Keyspace;", says: 'lib/authoring never imports lib/redis' },
  { file: 'lib/authoring/x.ts', code: "import { startHintJobData } from '../queue/replay-job-data.js';\nexport const s = startHintJobData;", says: 'lib/authoring never imports lib/queue' },
  { file: 'lib/authoring/x.ts', code: "export * from '../queue/bullmq-contract.js';", says: 'lib/authoring never imports lib/queue' },
  { file: 'lib/authoring/x.ts', code: "import { Redis } from 'ioredis';\nexport const R = Redis;", says: 'lib/authoring never imports ioredis or bullmq' },
  { file: 'lib/authoring/x.ts', code: "import type { Cluster } from 'ioredis';\nexport type C = Cluster;", says: 'lib/authoring never imports ioredis or bullmq' },
  { file: 'lib/authoring/x.ts', code: "import { Queue } from 'bullmq';\nexport const Q = Queue;", says: 'lib/authoring never imports ioredis or bullmq' },
  { file: 'lib/authoring/x.ts', code: "import type { Job } from 'bullmq';\nexport type J = Job;", says: 'lib/authoring never imports ioredis or bullmq' },
  // lib/redis never imports lib/replay, lib/worker or lib/integrations (nor their faces).
  { file: 'lib/redis/x.ts', code: "import { workflowStorage } from '../replay/context.js';\nexport const w = workflowStorage;", says: 'lib/redis never imports lib/replay' },
  { file: 'lib/redis/x.ts', code: "import type { Execution } from '../replay/execution.js';\nexport type E = Execution;", says: 'lib/redis never imports lib/replay' },
  { file: 'lib/redis/x.ts', code: "import { drive } from '../worker/drive.js';\nexport const d = drive;", says: 'lib/redis never imports lib/worker' },
  { file: 'lib/redis/x.ts', code: "import type { ReplayContext } from '../worker/replay-job.js';\nexport type R = ReplayContext;", says: 'lib/redis never imports lib/worker' },
  { file: 'lib/redis/lua/x.ts', code: "import { drive } from '../../worker/drive.js';\nexport const d = drive;", says: 'lib/redis never imports lib/worker' },
  { file: 'lib/redis/x.ts', code: "import { createWorker } from '../worker.js';\nexport const c = createWorker;", says: 'lib/redis never imports lib/worker' },
  { file: 'lib/redis/x.ts', code: "import { workflowRouter } from '../integrations/express/router.js';\nexport const r = workflowRouter;", says: 'lib/redis never imports lib/integrations' },
  { file: 'lib/redis/x.ts', code: "export type { DashboardOptions } from '../integrations/express/dashboard.js';", says: 'lib/redis never imports lib/integrations' },
  { file: 'lib/redis/x.ts', code: "export * from '../express.js';", says: 'lib/redis never imports lib/integrations' },
  { file: 'lib/redis/x.ts', code: "import { WorkflowModule } from '../nest.js';\nexport const m = WorkflowModule;", says: 'lib/redis never imports lib/integrations' },
  // lib/replay never imports lib/integrations.
  { file: 'lib/replay/x.ts', code: "import { toWebRequest } from '../integrations/express/web-request.js';\nexport const t = toWebRequest;", says: 'lib/replay never imports lib/integrations' },
  { file: 'lib/replay/x.ts', code: "import type { WebhookBodyUnavailableError } from '../integrations/webhook-body.js';\nexport type W = WebhookBodyUnavailableError;", says: 'lib/replay never imports lib/integrations' },
  { file: 'lib/replay/x.ts', code: "export { workflowRouter } from '../express.js';", says: 'lib/replay never imports lib/integrations' },
  // lib/integrations and lib/cli never import lib/redis (keys, Lua, store, connection), lib/queue, ioredis or bullmq.
  { file: 'lib/integrations/express/x.ts', code: "import { createKeyspace } from '../../redis/keys.js';\nexport const k = createKeyspace;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/integrations/express/x.ts', code: "import type { Store } from '../../redis/store.js';\nexport type S = Store;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/integrations/nest/x.ts', code: "import { describeConnection } from '../../redis/connection.js';\nexport const d = describeConnection;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/integrations/x.ts', code: "import { ScriptRunner } from '../redis/scripts.js';\nexport const s = ScriptRunner;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/integrations/express/x.ts', code: "import { startHintJobData } from '../../queue/replay-job-data.js';\nexport const s = startHintJobData;", says: 'lib/integrations and lib/cli never import lib/queue' },
  { file: 'lib/integrations/express/x.ts', code: "import { Queue } from 'bullmq';\nexport const Q = Queue;", says: 'lib/integrations and lib/cli never import ioredis or bullmq' },
  { file: 'lib/cli/x.ts', code: "import { isValidPrefix } from '../redis/keys.js';\nexport const v = isValidPrefix;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/cli/x.ts', code: "import { checkRedis } from '../redis/ready.js';\nexport const c = checkRedis;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/cli/commands/x.ts', code: "import type { RunRecord } from '../../redis/store-types.js';\nexport type R = RunRecord;", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/cli/commands/x.ts', code: "export * from '../../queue/bullmq-contract.js';", says: 'lib/integrations and lib/cli never import lib/queue' },
  { file: 'lib/cli/x.ts', code: "import { Redis } from 'ioredis';\nexport const R = Redis;", says: 'lib/integrations and lib/cli never import ioredis or bullmq' },
  { file: 'lib/express.ts', code: "export { checkRedis } from './redis/ready.js';", says: 'lib/integrations and lib/cli never import lib/redis' },
  { file: 'lib/nest.ts', code: "export type { Store } from './redis/store.js';", says: 'lib/integrations and lib/cli never import lib/redis' },
  // lib/domain imports nothing from the rest of lib/.
  { file: 'lib/domain/x.ts', code: "import { InvalidArgumentError } from '../errors/errors.js';\nexport const E = InvalidArgumentError;", says: 'lib/domain imports nothing' },
  { file: 'lib/domain/x.ts', code: "import type { Keyspace } from '../redis/keys.js';\nexport type K = Keyspace;", says: 'lib/domain imports nothing' },
  { file: 'lib/domain/x.ts', code: "import { Redis } from 'ioredis';\nexport const R = Redis;", says: 'lib/domain never imports ioredis or bullmq' },
];

/** Imports the rules allow (the arrows the architecture has). */
const ALLOWED: Array<{ file: string; code: string }> = [
  {
    file: 'lib/authoring/x.ts',
    code: [
      "import { currentExecution } from '../replay/context.js';",
      "import type { HookCall } from '../replay/calls.js';",
      "import { resumeHook } from '../runtime/hooks.js';",
      "import { serialize } from '../serialization/codec.js';",
      "import { WorkflowError } from '../errors/errors.js';",
      "import { RUN_STATUSES } from '../domain/run-status.js';",
      "import ms from 'ms';",
      'export type H = HookCall;',
      'export const all = [currentExecution, resumeHook, serialize, WorkflowError, RUN_STATUSES, ms];',
    ].join('\n'),
  },
  {
    file: 'lib/redis/x.ts',
    code: [
      "import { Queue } from 'bullmq';",
      "import type { Redis } from 'ioredis';",
      "import { luaError } from '../errors/lua-codes.js';",
      "import { startHintJobData } from '../queue/replay-job-data.js';",
      "import { createKeyspace } from './keys.js';",
      "import type { RunStatus } from '../domain/run-status.js';",
      'export type R = Redis | RunStatus;',
      'export const all = [Queue, luaError, startHintJobData, createKeyspace];',
    ].join('\n'),
  },
  {
    file: 'lib/replay/x.ts',
    code: [
      "import type { StoredEvent } from '../redis/store-types.js';",
      "import { deserialize } from '../serialization/codec.js';",
      "import { workflowStorage } from './context.js';",
      'export type E = StoredEvent;',
      'export const all = [deserialize, workflowStorage];',
    ].join('\n'),
  },
  {
    file: 'lib/integrations/express/x.ts',
    code: [
      "import { getQueues } from '../../runtime/config.js';",
      "import { listRuns } from '../../runtime/list-runs.js';",
      "import { isRunStatus } from '../../domain/run-status.js';",
      "import { buildTimeline } from '../../inspect/timeline.js';",
      "import { start } from '../../api.js';",
      "import type { RequestHandler } from 'express';",
      'export type H = RequestHandler;',
      'export const all = [getQueues, listRuns, isRunStatus, buildTimeline, start];',
    ].join('\n'),
  },
  {
    file: 'lib/cli/commands/x.ts',
    code: [
      "import { configureFailFast, describeConnection } from '../../runtime/connect.js';",
      "import { prefixProblem } from '../../domain/prefix.js';",
      "import { createWorker } from '../../worker/create-worker.js';",
      "import { Command } from 'commander';",
      'export const all = [configureFailFast, describeConnection, prefixProblem, createWorker, Command];',
    ].join('\n'),
  },
  {
    file: 'lib/worker/x.ts',
    code: [
      "import { Store } from '../redis/store.js';",
      "import { Worker } from 'bullmq';",
      "import { Execution } from '../replay/execution.js';",
      'export const all = [Store, Worker, Execution];',
    ].join('\n'),
  },
  {
    file: 'lib/domain/x.ts',
    code: ["import { RUN_STATUSES } from './run-status.js';", 'export const all = [RUN_STATUSES];'].join('\n'),
  },
];

const layeringMessages = (messages: Linter.LintMessage[]) => messages.filter((m) => m.ruleId === RULE || m.ruleId === STATIC_ONLY);
const show = (messages: Linter.LintMessage[]) => messages.map((m) => `${m.line}:${m.column} ${m.ruleId}: ${m.message}`).join('\n');

describe('lint: layering rules of lib/ (eslint.config.js)', function () {
  let eslint: ESLint;
  before(() => {
    eslint = new ESLint({ cwd: repoRoot });
  });

  const lint = async (file: string, code: string) => {
    const [result] = await eslint.lintText(code, { filePath: file });
    return result!.messages;
  };

  for (const c of VIOLATIONS) {
    it(`${c.file}: ${c.code.split('\n')[0]} fails (${c.says})`, async () => {
      const messages = await lint(c.file, c.code);
      const hits = messages.filter((m) => m.ruleId === RULE);
      expect(hits, show(messages)).to.have.lengthOf(1);
      expect(hits[0]!.severity).to.equal(2);
      expect(hits[0]!.message).to.include(c.says);
    });
  }

  for (const c of ALLOWED) {
    it(`${c.file}: the allowed imports pass`, async () => {
      const messages = await lint(c.file, c.code);
      expect(messages, show(messages)).to.deep.equal([]);
    });
  }

  it('also sees `import x = require(...)` (no-restricted-imports of typescript-eslint)', async () => {
    const messages = await lint('lib/authoring/x.ts', "import keys = require('../redis/keys.js');\nexport const k = keys;");
    expect(messages.filter((m) => m.ruleId === RULE), show(messages)).to.have.lengthOf(1);
  });

  it('refuses import() of a relative module in lib/, in code and in types (the rules read static imports)', async () => {
    for (const code of [
      "export const load = () => import('../redis/keys.js');",
      "export type K = typeof import('../redis/keys.js');",
      "export type K = import('./calls.js').HookCall;",
    ]) {
      const messages = await lint('lib/replay/x.ts', code);
      expect(messages.filter((m) => m.ruleId === STATIC_ONLY), `${code}\n${show(messages)}`).to.have.lengthOf(1);
    }
    // A computed specifier (the CLI loading the user's workflow module) is not a module of lib/.
    expect(await lint('lib/cli/x.ts', 'export const load = (spec: string) => import(spec);')).to.deep.equal([]);
  });

  it('passes on the tree: no file of lib/ breaks a layering rule', async function () {
    this.timeout(120_000);
    const results = await eslint.lintFiles(['lib']);
    const broken = results.flatMap((r) => layeringMessages(r.messages).map((m) => `${r.filePath.slice(repoRoot.length)}:${m.line} ${m.message}`));
    expect(broken, broken.join('\n')).to.deep.equal([]);
  });
});
