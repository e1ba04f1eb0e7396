/**
 * The one table that maps the negative return codes of the Lua scripts to
 * typed errors. Scripts return `{code, ...}`: code >= 0 is success.
 */
import {
  EntityConflictError,
  EventLogRewoundError,
  FencedError,
  HookConflictError,
  HookNotFoundError,
  LeaseBusyError,
  RunExpiredError,
  StaleCommitError,
  StreamClosedError,
  TooEarlyError,
  TooManyHooksError,
  WorkflowError,
  WorkflowRunNotFoundError,
} from './errors.js';

/** Return codes shared with `lib/redis/lua/includes/codes.lua`. */
export const LuaCode = {
  OK: 0,
  RUN_NOT_FOUND: -1,
  RUN_EXPIRED: -2,
  ENTITY_CONFLICT: -3,
  HOOK_NOT_FOUND: -4,
  TOO_EARLY: -5,
  FENCED: -6,
  LEASE_BUSY: -7,
  STEP_NOT_FOUND: -8,
  WAIT_NOT_FOUND: -9,
  QUEUE_ADD_FAILED: -10,
  STALE: -11,
  LOG_REWOUND: -12,
  /** A hook token is held by another live hook (detail: the holder's run id). */
  HOOK_CONFLICT: -13,
  /** resumeHooks: the tag has more live hooks than the call's maxHooks (detail: how many). */
  TOO_MANY_HOOKS: -14,
  /** appendChunks: the run's stream is closed (detail: the namespace). */
  STREAM_CLOSED: -20,
  /** One run of a batch raised a script error (detail: its message). */
  SCRIPT: -100,
} as const;

/** Context a caller knows when it maps a code (for the error's fields). */
export interface LuaErrorContext {
  runId?: string;
  token?: string;
  /** resumeHooks: the call's maxHooks. */
  limit?: number;
  script: string;
}

/** Turns a negative script code (and its detail) into the matching typed error. */
export function luaError(code: number, detail: unknown, ctx: LuaErrorContext): Error {
  switch (code) {
    case LuaCode.RUN_NOT_FOUND:
      return new WorkflowRunNotFoundError(ctx.runId ?? String(detail ?? ''));
    case LuaCode.RUN_EXPIRED:
      return new RunExpiredError(ctx.runId ?? String(detail ?? ''), typeof detail === 'string' ? detail : undefined);
    case LuaCode.ENTITY_CONFLICT:
      return new EntityConflictError(`${ctx.script}: ${String(detail ?? 'conflict')}`);
    case LuaCode.HOOK_NOT_FOUND:
      return new HookNotFoundError(ctx.token ?? '');
    case LuaCode.TOO_EARLY:
      return new TooEarlyError(Number(detail));
    case LuaCode.FENCED:
      return new FencedError(`${ctx.script}: another worker took over run "${ctx.runId ?? ''}"`);
    case LuaCode.LEASE_BUSY:
      return new LeaseBusyError(Number(detail) || 100);
    case LuaCode.STEP_NOT_FOUND:
      return new EntityConflictError(`${ctx.script}: step "${String(detail)}" does not exist`);
    case LuaCode.WAIT_NOT_FOUND:
      return new EntityConflictError(`${ctx.script}: wait "${String(detail)}" does not exist`);
    case LuaCode.QUEUE_ADD_FAILED:
      return new WorkflowError(`${ctx.script}: BullMQ refused the job (code ${String(detail)})`);
    case LuaCode.STALE:
      return new StaleCommitError(`${ctx.script}: run "${ctx.runId ?? ''}" has events this replay has not seen`);
    case LuaCode.LOG_REWOUND:
      return new EventLogRewoundError(`${ctx.script}: run "${ctx.runId ?? ''}" lost events this replay consumed`);
    case LuaCode.STREAM_CLOSED:
      return new StreamClosedError(ctx.runId ?? '', String(detail ?? ''));
    case LuaCode.HOOK_CONFLICT:
      return new HookConflictError(ctx.token ?? '', detail === undefined || detail === null ? undefined : String(detail));
    case LuaCode.TOO_MANY_HOOKS:
      return new TooManyHooksError(Number(detail), ctx.limit ?? 0);
    case LuaCode.SCRIPT:
      return new WorkflowError(`${ctx.script}: ${String(detail)}`);
    default:
      return new WorkflowError(`${ctx.script}: unexpected return code ${code}`);
  }
}
