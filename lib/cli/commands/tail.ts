/**
 * `runs tail <runId>`: prints a run's stream (what its steps write with
 * getWritable) as chunks arrive, until the stream ends: string chunks as they
 * are, one per line; other values as one line of JSON each (`--json`: every
 * chunk as JSON).
 */
import type { Command } from 'commander';
import { toJsonSafe } from '../../inspect/json-safe.js';
import { getRun } from '../../runtime/run.js';
import { action } from '../command.js';
import { CliError, withApi } from '../context.js';

interface TailOptions {
  namespace?: string;
  from?: string;
  json?: boolean;
}

/** The chunk as one line of output. */
function line(chunk: unknown, json: boolean): string {
  if (typeof chunk === 'string' && !json) return chunk;
  return JSON.stringify(toJsonSafe(chunk)) ?? 'null';
}

/** Registers `runs tail` on the `runs` command. */
export function registerTailCommand(runs: Command): void {
  runs
    .command('tail')
    .description("print a run's stream as chunks arrive, until it ends (Ctrl-C to stop)")
    .argument('<runId>', 'the run id')
    .option('--namespace <name>', "which of the run's streams (default: its main stream)")
    .option('--from <index>', 'the first chunk: 0 = the first written (default), -n = n chunks before the end')
    .option('--json', 'print every chunk as a line of JSON (strings too)')
    .action(
      action(async (g, runId: string, opts: TailOptions) => {
        let startIndex: number | undefined;
        if (opts.from !== undefined) {
          if (!/^-?\d{1,15}$/.test(opts.from)) throw new CliError(`--from: use an integer (0 = the first chunk, -n = n chunks before the end), got ${opts.from}.`);
          startIndex = Number(opts.from);
        }
        await withApi(g, async () => {
          const run = getRun(runId);
          // An unknown run is an error before anything is printed.
          await run.status;
          const reader = run.getReadable({ namespace: opts.namespace, startIndex }).getReader();
          const stop = () => void reader.cancel().catch(() => undefined);
          process.once('SIGINT', stop);
          try {
            for (let r = await reader.read(); !r.done; r = await reader.read()) {
              const text = `${line(r.value, opts.json === true)}\n`;
              if (!process.stdout.write(text)) await new Promise((resolve) => process.stdout.once('drain', resolve));
            }
          } finally {
            process.off('SIGINT', stop);
          }
        });
      }),
    );
}
