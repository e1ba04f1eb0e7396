#!/usr/bin/env node
/**
 * Entry of the `workflow-redis` binary. Parses the command line, runs the
 * command and exits with its code (0, or 1 on an error).
 * @packageDocumentation
 */
import { createProgram } from './program.js';
import { reportError } from './errors.js';

/** Runs the CLI with `argv` (as in `process.argv`) and resolves to the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    return reportError(err);
  }
  return typeof process.exitCode === 'number' ? process.exitCode : 0;
}

// A closed pipe (`workflow-redis runs list | head`) must not become a crash.
process.stdout.on('error', () => undefined);

const code = await main();
// Flush stdout, then exit: a connection left half-closed must not keep the process alive.
process.stdout.write('', () => process.exit(code));
