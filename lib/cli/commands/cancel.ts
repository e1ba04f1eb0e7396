/**
 * `cancel <runId>`: cancels a pending or running run (its hook tokens are
 * released; later step results are refused).
 */
import type { Command } from 'commander';
import { getRun } from '../../runtime/run.js';
import { action } from '../command.js';
import { CliError, withApi } from '../context.js';
import { printJson, println } from '../format.js';

/** Registers `cancel` on `program`. */
export function registerCancelCommand(program: Command): void {
  program
    .command('cancel')
    .description('cancel a pending or running run')
    .argument('<runId>', 'the run id')
    .option('--json', 'print JSON: { runId, status, cancelled }')
    .action(
      action(async (g, runId: string, opts: { json?: boolean }) => {
        await withApi(g, async () => {
          const run = getRun(runId);
          const before = await run.status; // WorkflowRunNotFoundError for an unknown run
          if (before === 'completed' || before === 'failed') {
            throw new CliError(`Run "${runId}" has already ${before}: there is nothing to cancel.`);
          }
          try {
            await run.cancel();
          } catch (err) {
            // It finished between the status read and the cancel.
            if ((err as Error).name === 'EntityConflictError') throw new CliError(`Run "${runId}" has already finished: there is nothing to cancel.`);
            throw err;
          }
          const already = before === 'cancelled';
          if (opts.json) printJson({ runId, status: 'cancelled', cancelled: !already });
          else println(already ? `Run ${runId} was already cancelled.` : `Cancelled run ${runId}.`);
        });
      }),
    );
}
