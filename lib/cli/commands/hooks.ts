/**
 * `hooks show <token>` and `resume <token> <json>`. `hooks show` is the one
 * command that prints a token, because the user asked for that hook. `resume`
 * never echoes the payload, not even in its errors.
 */
import type { Command } from 'commander';
import { getHookByToken, resumeHook } from '../../runtime/hooks.js';
import { action } from '../command.js';
import { CliError, withApi } from '../context.js';
import { formatTime, preview, printJson, println } from '../format.js';

/** Reads all of stdin (for `resume <token> -`). */
async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Parses the payload argument. The message of an invalid one gives the
 * position of the problem, never the text (it may hold secrets).
 */
export function parsePayload(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const pos = /position (\d+)/.exec((err as Error).message)?.[1];
    const where = text.trim() === '' ? ' (it is empty)' : pos !== undefined ? ` (syntax error at character ${pos})` : '';
    throw new CliError(
      `Invalid JSON payload${where}. Pass one JSON value, quoted for your shell, e.g. '{"approved":true}', '"text"' or 42; or - to read it from stdin.`,
    );
  }
}

/** Registers `hooks show` and `resume` on `program`. */
export function registerHookCommands(program: Command): void {
  const hooks = program.command('hooks').description('inspect hooks');

  hooks
    .command('show')
    .description('show the live hook holding a token: run, hook id, creation time, webhook or not, tags, timeout, metadata')
    .argument('<token>', 'the hook token')
    .option('--json', 'print JSON')
    .action(
      action(async (g, token: string, opts: { json?: boolean }) => {
        await withApi(g, async () => {
          const hook = await getHookByToken(token);
          if (opts.json) {
            printJson(hook);
            return;
          }
          const rows: [string, string][] = [
            ['Token', hook.token],
            ['Run', hook.runId],
            ['Hook', hook.hookId],
            ['Created', formatTime(hook.createdAt)],
            ['Webhook', hook.isWebhook ? 'yes' : 'no'],
            ['Tags', hook.tags?.join(', ') || '-'],
            ['Timeout', hook.timeoutAt ? formatTime(hook.timeoutAt) : '-'],
            ['Metadata', hook.metadata === undefined ? '-' : preview(hook.metadata, 2000)],
          ];
          for (const [k, v] of rows) println(`${k.padEnd(8)}  ${v}`);
        });
      }),
    );

  program
    .command('resume')
    .description('send a JSON payload to the hook holding a token and wake its run; prints the run id')
    .argument('<token>', 'the hook token')
    .argument('<json>', "the payload as JSON (e.g. '{\"approved\":true}'), or - to read it from stdin")
    .option('--json', 'print JSON: { runId, hookId, isWebhook }')
    .action(
      action(async (g, token: string, json: string, opts: { json?: boolean }) => {
        const payload = parsePayload(json === '-' ? await readStdin() : json);
        await withApi(g, async () => {
          const hook = await resumeHook(token, payload);
          if (opts.json) printJson({ runId: hook.runId, hookId: hook.hookId, isWebhook: hook.isWebhook });
          else println(hook.runId);
        });
      }),
    );
}
