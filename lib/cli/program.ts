/**
 * The `workflow-redis` command line: global options and every command.
 */
import { Command, Option } from 'commander';
import { createRequire } from 'node:module';
import { registerCancelCommand } from './commands/cancel.js';
import { registerHookCommands } from './commands/hooks.js';
import { registerRunsCommands } from './commands/runs.js';
import { registerWorkerCommand } from './commands/worker.js';
import { DEFAULT_PREFIX, DEFAULT_REDIS_URL } from './context.js';

/** The package version (package.json is two levels up from both lib/cli and dist/cli). */
export const CLI_VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

/** Builds the commander program (a fresh one per call, for tests). */
export function createProgram(): Command {
  const program = new Command('workflow-redis')
    .description('Durable workflows on Redis: run workers, inspect runs and hooks, resume and cancel.')
    .version(CLI_VERSION)
    .addOption(new Option('--redis <url>', 'Redis URL').env('REDIS_URL').default(DEFAULT_REDIS_URL))
    .addOption(new Option('--prefix <prefix>', 'key prefix of the workflows').env('WORKFLOW_PREFIX').default(DEFAULT_PREFIX))
    .showHelpAfterError('(add --help for usage)')
    .showSuggestionAfterError()
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  workflow-redis worker --import ./dist/workflows.js\n' +
        '  workflow-redis runs list --status running\n' +
        '  workflow-redis runs show <runId>\n' +
        "  workflow-redis resume <token> '{\"approved\":true}'\n" +
        '  workflow-redis cancel <runId>\n\n' +
        'Set WORKFLOW_REDIS_DEBUG=1 to print stack traces of unexpected errors.',
    );
  registerWorkerCommand(program);
  registerRunsCommands(program);
  registerHookCommands(program);
  registerCancelCommand(program);
  return program;
}
