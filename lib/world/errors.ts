/**
 * The one table that turns the World scripts' return codes into the errors
 * the official runtime dispatches on (`@workflow/errors`, matched by name:
 * EntityConflictError = a benign duplicate, RunExpiredError = stop, TooEarlyError
 * = retry after `retryAfter` seconds, HookNotFoundError, WorkflowRunNotFoundError...).
 */
import {
  EntityConflictError,
  HookNotFoundError,
  RunExpiredError,
  TooEarlyError,
  WorkflowRunNotFoundError,
  WorkflowWorldError,
} from '@workflow/errors';
import { LuaCode } from '../errors/lua-codes.js';

/** What the caller knows of the failed call, for the error's message and fields. */
export interface WorldErrorContext {
  runId: string;
  correlationId?: string;
  /** The server time of the reply (ms), for TooEarlyError's seconds. */
  now?: number;
}

/** Turns a negative script reply `{code, detail}` into the official error. */
export function worldError(reply: unknown[], ctx: WorldErrorContext): Error {
  const code = Number(reply[0]);
  const detail = reply[1] === undefined ? undefined : String(reply[1]);
  switch (code) {
    case LuaCode.RUN_NOT_FOUND:
      return new WorkflowRunNotFoundError(ctx.runId);
    case LuaCode.RUN_EXPIRED:
      return new RunExpiredError(
        detail && detail.includes(' ') ? detail : `Workflow run "${ctx.runId}" is already in terminal state "${detail ?? 'unknown'}"`,
      );
    case LuaCode.ENTITY_CONFLICT:
      return new EntityConflictError(detail ?? `Workflow run "${ctx.runId}" already exists`);
    case LuaCode.HOOK_NOT_FOUND:
      return new HookNotFoundError(ctx.correlationId ?? '');
    case LuaCode.TOO_EARLY: {
      const at = Number(detail);
      const seconds = Math.max(1, Math.ceil((at - (ctx.now ?? Date.now())) / 1000));
      return new TooEarlyError(`Cannot start step "${ctx.correlationId}": retryAfter timestamp has not been reached yet`, { retryAfter: seconds });
    }
    case LuaCode.STEP_NOT_FOUND:
      return new WorkflowWorldError(`Step "${ctx.correlationId}" not found`);
    case LuaCode.WAIT_NOT_FOUND:
      return new WorkflowWorldError(`Wait "${ctx.correlationId}" not found`);
    default:
      return new WorkflowWorldError(`Unexpected reply ${code} from the World's Redis script (run ${ctx.runId}).`);
  }
}

/** A bad request to the World: a WorkflowWorldError (status 400) whose message says how to fix it. */
export function badRequest(message: string): WorkflowWorldError {
  return new WorkflowWorldError(message, { status: 400 });
}
