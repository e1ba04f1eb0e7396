// Lint rules: correctness over style (tsc --strict does the type checks),
// and the layering of lib/ (what a part must never import), checked by
// test/lint/layering.test.ts; test/lint/import-cycles.test.ts forbids import circles.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The parts of lib/ an import must not reach, as gitignore-style patterns
 * that match a relative specifier at any depth (`../redis/keys.js`,
 * `../../redis/store.js`...). Each also names the part's face in lib/ where
 * it has one (`lib/worker.ts` for lib/worker/).
 */
const PART = {
  redis: ['**/redis', '**/redis/**'],
  queue: ['**/queue', '**/queue/**'],
  replay: ['**/replay', '**/replay/**'],
  worker: ['**/worker', '**/worker/**', '**/worker.js'],
  integrations: ['**/integrations', '**/integrations/**', '**/express.js', '**/nest.js'],
  world: ['**/world', '**/world/**'],
  authoring: ['**/authoring', '**/authoring/**'],
};
/** The Redis and BullMQ client packages, subpaths included. */
const CLIENT_PACKAGES = ['ioredis', 'ioredis/**', 'bullmq', 'bullmq/**'];

/**
 * `@typescript-eslint/no-restricted-imports` (it also sees `import x = require()`)
 * forbidding each group: `import`, `import type`, `export … from` alike
 * (`allowTypeImports: false`: a type-only import is still an arrow of the architecture).
 */
function forbid(groups) {
  return {
    '@typescript-eslint/no-restricted-imports': [
      'error',
      { patterns: groups.map(([group, message]) => ({ group, message, allowTypeImports: false })) },
    ],
  };
}

/** The architecture's "nevers": what each part of lib/ must never import. */
const LAYERING = [
  {
    // Workflow-side code reaches the store only through the replay engine.
    files: ['lib/authoring/**/*.ts'],
    rules: forbid([
      [PART.redis, 'lib/authoring never imports lib/redis: workflow-side code reaches the store through the replay engine (lib/replay).'],
      [PART.queue, 'lib/authoring never imports lib/queue: workflow-side code does not know BullMQ.'],
      [CLIENT_PACKAGES, 'lib/authoring never imports ioredis or bullmq: workflow-side code does not talk to Redis.'],
    ]),
  },
  {
    // The store is below the engine, the workers and the adapters.
    files: ['lib/redis/**/*.ts'],
    rules: forbid([
      [PART.replay, 'lib/redis never imports lib/replay: the store is below the replay engine.'],
      [PART.worker, 'lib/redis never imports lib/worker (or lib/worker.ts): the store is below the workers.'],
      [PART.integrations, 'lib/redis never imports lib/integrations (or lib/express.ts, lib/nest.ts): the store is below the adapters.'],
    ]),
  },
  {
    files: ['lib/replay/**/*.ts'],
    rules: forbid([
      [PART.integrations, 'lib/replay never imports lib/integrations (or lib/express.ts, lib/nest.ts): the engine knows no HTTP framework.'],
    ]),
  },
  {
    // The adapters (and their faces) use the runtime API (lib/runtime, lib/api.ts), never the store or the queues past it.
    files: ['lib/integrations/**/*.ts', 'lib/cli/**/*.ts', 'lib/express.ts', 'lib/nest.ts'],
    rules: forbid([
      [PART.redis, 'lib/integrations and lib/cli never import lib/redis (keys, Lua, store, connection): use the runtime (lib/runtime, e.g. runtime/connect.ts, getQueues()) and lib/domain.'],
      [PART.queue, 'lib/integrations and lib/cli never import lib/queue: the runtime owns the queues (getQueues() in lib/runtime/config.ts).'],
      [CLIENT_PACKAGES, 'lib/integrations and lib/cli never import ioredis or bullmq: they reach Redis through the runtime (lib/runtime/connect.ts).'],
    ]),
  },
  {
    // The official-SDK World is an engine of its own on the store: the official runtime replays its runs.
    files: ['lib/world/**/*.ts'],
    rules: forbid([
      [PART.replay, 'lib/world never imports lib/replay: official runs are replayed by the official runtime, not by the native engine.'],
      [PART.worker, 'lib/world never imports lib/worker (or lib/worker.ts): native workers never take official runs.'],
      [PART.authoring, 'lib/world never imports lib/authoring: official workflows are written with the official SDK.'],
      [PART.integrations, 'lib/world never imports lib/integrations (or lib/express.ts, lib/nest.ts).'],
    ]),
  },
  {
    // No native part depends on the World (it is an optional face, workflow-redis/world).
    files: ['lib/authoring/**/*.ts', 'lib/replay/**/*.ts', 'lib/worker/**/*.ts', 'lib/runtime/**/*.ts', 'lib/redis/**/*.ts', 'lib/queue/**/*.ts', 'lib/integrations/**/*.ts', 'lib/cli/**/*.ts', 'lib/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: PART.world, message: 'Native code never imports lib/world: the official-SDK World sits beside the engine, on the store.' }] }],
    },
  },
  {
    // Domain facts (run statuses, the prefix rule) sit on the bottom floor: they import nothing.
    files: ['lib/domain/**/*.ts'],
    rules: forbid([
      [['../**'], 'lib/domain imports nothing from the rest of lib/: every part depends on it, so it depends on none.'],
      [CLIENT_PACKAGES, 'lib/domain never imports ioredis or bullmq.'],
    ]),
  },
  {
    // The rules above and the import-cycle test read static imports: no import() of a relative module, in code or in types.
    files: ['lib/**/*.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: 'ImportExpression > Literal.source[value=/^\\./]',
          message: 'Import modules of lib/ statically (import / import type), not with import(): the layering rules and the import-cycle test read static imports.',
        },
        {
          selector: 'TSImportType > Literal.source[value=/^\\./]',
          message: "Name types of lib/ with import type, not import('…') types: the layering rules and the import-cycle test read static imports.",
        },
      ],
    },
  },
];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'tmp/**', 'bench-results/**', '.data/**', '.cache/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/no-unsafe-function-type': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...LAYERING,
  {
    // Verbatim examples from the official reference page (written for the DOM lib's `any` json()).
    files: ['test/foundation/seed-examples/**/*.ts'],
    rules: { '@typescript-eslint/ban-ts-comment': 'off' },
  },
  {
    // Plain-Node scripts of the packaging test, run in a consumer project.
    files: ['test/consumer/fixtures/**/*.{mjs,cjs}'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', setTimeout: 'readonly', require: 'readonly' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-unused-expressions': 'off' },
  },
);
