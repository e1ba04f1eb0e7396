/**
 * Turns errors into the one-line messages the CLI prints. Expected errors
 * (bad input, unknown run or token, Redis unreachable) never show a stack
 * trace; unexpected ones show it only with `WORKFLOW_REDIS_DEBUG=1`.
 * Messages never contain hook tokens or payloads.
 */
import { CliError, isConnectionError, unreachableMessage } from './context.js';

/** Context that makes messages more helpful. */
export interface ErrorContext {
  /** The Redis URL in use (credentials are stripped before printing). */
  redis?: string;
  /** The key prefix in use. */
  prefix?: string;
}

const EXPECTED = new Set([
  'InvalidArgumentError',
  'SerializationError',
  'UnregisteredClassError',
  'PayloadTooLargeError',
  'HookPayloadValidationError',
  'WorkflowNotRegisteredError',
  'HookConflictError',
  'RunExpiredError',
  'EntityConflictError',
]);

/** The message to print for `err`, and whether it was expected. */
export function describeError(err: unknown, ctx: ErrorContext = {}): { message: string; expected: boolean } {
  const e = err instanceof Error ? err : new Error(String(err));
  const where = ctx.prefix ? ` (prefix "${ctx.prefix}")` : '';
  if (e instanceof CliError) return { message: e.message, expected: true };
  switch (e.name) {
    case 'WorkflowRunNotFoundError': {
      const runId = (e as Error & { runId?: string }).runId ?? '';
      return {
        message: `Run "${runId}" not found${where}. Check the run id, or pass the --prefix the run was started with.`,
        expected: true,
      };
    }
    case 'HookNotFoundError':
      return {
        message: `Hook not found${where}: no live hook holds this token (it is unknown, was disposed, or its run has finished).`,
        expected: true,
      };
  }
  if (EXPECTED.has(e.name)) return { message: e.message, expected: true };
  if (isConnectionError(e)) {
    const reason = (e as Error & { reason?: unknown }).reason;
    return { message: unreachableMessage(ctx.redis ?? 'the configured Redis', typeof reason === 'string' ? reason : e.message), expected: true };
  }
  return { message: `Unexpected error: ${e.message || e.name}`, expected: false };
}

/**
 * Prints `err` on stderr and returns the exit code (a {@link CliError}'s own,
 * else 1). The stack of an unexpected error is printed only when
 * `WORKFLOW_REDIS_DEBUG` is set.
 */
export function reportError(err: unknown, ctx: ErrorContext = {}): number {
  const { message, expected } = describeError(err, ctx);
  process.stderr.write(`Error: ${message}\n`);
  if (!expected) {
    if (process.env.WORKFLOW_REDIS_DEBUG && err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
    else process.stderr.write('Set WORKFLOW_REDIS_DEBUG=1 to see the stack trace.\n');
  }
  return err instanceof CliError ? err.exitCode : 1;
}
