/**
 * Glue between commander and the command implementations: resolves the
 * global options for each action and turns its errors into a printed message
 * and an exit code.
 */
import type { Command } from 'commander';
import { resolveGlobals, type GlobalOptions } from './context.js';
import { reportError } from './errors.js';

/** What a command implementation receives: the resolved globals, then commander's arguments and options. */
export type CommandAction<A extends unknown[]> = (g: GlobalOptions, ...args: A) => Promise<void>;

/**
 * Wraps a command implementation for `command.action()`. Failures are
 * reported on stderr (no stack for expected errors) and set
 * `process.exitCode`; `main()` exits with it.
 */
export function action<A extends unknown[]>(fn: CommandAction<A>): (...args: unknown[]) => Promise<void> {
  return async (...args: unknown[]) => {
    const cmd = args[args.length - 1] as Command;
    const raw = cmd.optsWithGlobals<{ redis?: string; prefix?: string }>();
    let g: GlobalOptions | undefined;
    try {
      g = resolveGlobals(raw);
      await fn(g, ...(args.slice(0, -1) as A));
    } catch (err) {
      process.exitCode = reportError(err, { redis: g?.redis ?? raw.redis, prefix: g?.prefix });
    }
  };
}
