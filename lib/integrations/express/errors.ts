/**
 * The one place where errors become HTTP responses. Every route of the router
 * lets its errors propagate (Express 5 forwards rejected promises to `next`),
 * and this middleware picks the status and a message that is safe to send:
 * the library's own messages never contain tokens or payloads, and anything
 * unexpected becomes a generic 500 with no stack.
 */
import type { ErrorRequestHandler, Request } from 'express';

/** A log sink for the router. Fields never contain hook tokens, payloads or request URLs. */
export type RouterLogger = (level: 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Default sink: one JSON line on stderr (the same shape as the worker's logger). */
export const defaultRouterLogger: RouterLogger = (level, msg, fields) => {
  process.stderr.write(`${JSON.stringify({ level, msg, ...fields, time: new Date().toISOString() })}\n`);
};

/** Library errors (matched by `name`, so duplicate package copies still match) and their status. */
const STATUS_BY_NAME: Record<string, number> = {
  HookNotFoundError: 404,
  WorkflowRunNotFoundError: 404,
  InvalidArgumentError: 400,
  SerializationError: 400,
  HookPayloadValidationError: 400,
  PayloadTooLargeError: 413,
  HookConflictError: 409,
  EntityConflictError: 409,
  RunExpiredError: 409,
  WebhookResponseTimeoutError: 504,
};

/**
 * Fixed messages where the error's own message is not helpful to an HTTP
 * client (a Lua script name) or could say more than the route should.
 */
const FIXED_MESSAGE: Record<string, string> = {
  EntityConflictError: 'The run is not in a state that allows this request (it may have finished).',
  RunExpiredError: 'The run has already finished.',
  WebhookResponseTimeoutError: 'The workflow did not send a response in time.',
};

/** Messages for body-parser's errors (the parser's own text can quote the body). */
const BODY_ERROR_MESSAGE: Record<number, string> = {
  400: 'Malformed request body: send valid JSON.',
  413: 'Request body too large.',
  415: 'Unsupported request body encoding or charset.',
};

/** The status and response body for an error. */
export interface MappedError {
  status: number;
  body: { error: string };
}

/** http-errors raised by body-parser carry `type` ('entity.parse.failed'...) and a 4xx `status`. */
function bodyParserStatus(err: unknown): number | undefined {
  const e = err as { type?: unknown; status?: unknown; statusCode?: unknown; expose?: unknown };
  const status = Number(e?.status ?? e?.statusCode);
  if (typeof e?.type === 'string' && Number.isInteger(status) && status >= 400 && status < 500) return status;
  return undefined;
}

/** Maps any error to a status and a safe `{ error }` body. */
export function mapError(err: unknown): MappedError {
  // Body-parser first: its http-errors reuse names such as 'PayloadTooLargeError'.
  const parserStatus = bodyParserStatus(err);
  if (parserStatus !== undefined) {
    return { status: parserStatus, body: { error: BODY_ERROR_MESSAGE[parserStatus] ?? 'Bad request.' } };
  }
  const name = err instanceof Error ? err.name : '';
  const status = STATUS_BY_NAME[name];
  if (status !== undefined) {
    return { status, body: { error: FIXED_MESSAGE[name] ?? (err as Error).message } };
  }
  return { status: 500, body: { error: 'Internal server error' } };
}

/**
 * Express error middleware of the router: maps the error with {@link mapError}
 * and logs only server errors (5xx except timeouts), naming the route pattern
 * rather than the URL — a webhook URL contains its token.
 */
export function errorMiddleware(logger: RouterLogger): ErrorRequestHandler {
  return (err, req: Request, res, next) => {
    if (res.headersSent) {
      // Too late to send a status: let Express close the connection.
      next(err);
      return;
    }
    const mapped = mapError(err);
    if (mapped.status >= 500 && mapped.status !== 504) {
      logger('error', 'workflow-redis/express: request failed', {
        method: req.method,
        route: typeof req.route?.path === 'string' ? req.route.path : undefined,
        error: err instanceof Error ? err.name : typeof err,
        message: err instanceof Error ? err.message : undefined,
      });
    }
    res.status(mapped.status).json(mapped.body);
  };
}
