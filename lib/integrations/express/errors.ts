/**
 * The one place where errors become HTTP responses. Every route of the router
 * lets its errors propagate (Express 5 forwards rejected promises to `next`),
 * and this middleware picks the status and a message that is safe to send:
 * the library's own messages never contain tokens or payloads, and anything
 * unexpected becomes a generic 500 with no stack.
 */
import type { ErrorRequestHandler, Request } from 'express';
import { STATUS_CODES } from 'node:http';

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
  // resumeHooks: more live hooks have the tag than the request's maxHooks (nothing written).
  TooManyHooksError: 400,
  PayloadTooLargeError: 413,
  HookConflictError: 409,
  EntityConflictError: 409,
  RunExpiredError: 409,
  WebhookResponseTimeoutError: 504,
  // The app mounted a body parser before the router: a server fault, and senders retry 5xx.
  WebhookBodyUnavailableError: 500,
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

/**
 * Fixed messages for the request errors of Express and body-parser, by their
 * `type`: their own text can quote the body or the raw URL parameter (a hook
 * token), so it is never sent or logged.
 */
const REQUEST_ERROR_BY_TYPE: Record<string, string> = {
  'entity.parse.failed': 'Malformed request body: send valid JSON.',
  'entity.too.large': 'Request body too large.',
  'encoding.unsupported': 'Unsupported content-encoding: send the body as identity, gzip, deflate or br.',
  'charset.unsupported': 'Unsupported charset: send the body as UTF-8.',
  'request.aborted': 'The request was aborted before its body was read.',
  'request.size.invalid': 'The request body does not match its content-length.',
};

const URL_ERROR = 'Malformed URL: a path segment has invalid percent-encoding (each %XX must be part of valid UTF-8).';
const DECODE_ERROR = 'Malformed request body: it could not be decoded with its content-encoding.';

/** The status and response body for an error. */
export interface MappedError {
  status: number;
  body: { error: string };
}

/**
 * A 4xx `status`/`statusCode` set by Express or body-parser (http-errors),
 * with or without `type`: Express's URIError for a malformed `%`-escape in a
 * route parameter has none, and neither has a zlib error re-raised by the
 * body parser for a corrupt gzip body.
 */
function requestErrorStatus(err: unknown): number | undefined {
  if (err === null || typeof err !== 'object') return undefined;
  const e = err as { status?: unknown; statusCode?: unknown };
  const status = Number(e.status ?? e.statusCode);
  return Number.isInteger(status) && status >= 400 && status < 500 ? status : undefined;
}

function requestErrorMessage(err: object, status: number): string {
  const { type, name, code } = err as { type?: unknown; name?: unknown; code?: unknown };
  if (typeof type === 'string' && REQUEST_ERROR_BY_TYPE[type]) return REQUEST_ERROR_BY_TYPE[type];
  if (name === 'URIError') return URL_ERROR;
  // zlib's codes: Z_DATA_ERROR, Z_BUF_ERROR (gzip, deflate), ERR__ERROR_FORMAT_... (brotli).
  if (typeof code === 'string' && /^(Z_|ERR__|ERR_BROTLI|ERR_ZSTD)/.test(code)) return DECODE_ERROR;
  if (status === 413) return REQUEST_ERROR_BY_TYPE['entity.too.large']!;
  return STATUS_CODES[status] ?? 'Bad request.';
}

/** Maps any error to a status and a safe `{ error }` body. */
export function mapError(err: unknown): MappedError {
  // Request errors first: body-parser's http-errors reuse names such as 'PayloadTooLargeError'.
  const requestStatus = requestErrorStatus(err);
  if (requestStatus !== undefined) {
    return { status: requestStatus, body: { error: requestErrorMessage(err as object, requestStatus) } };
  }
  const name = err instanceof Error ? err.name : '';
  const status = STATUS_BY_NAME[name];
  if (status !== undefined) {
    return { status, body: { error: FIXED_MESSAGE[name] ?? (err as Error).message } };
  }
  return { status: 500, body: { error: 'Internal server error' } };
}

/** Whether the mounting problem behind a WebhookBodyUnavailableError was logged (once per process: it is the same fix every time). */
let bodyUnavailableLogged = false;

/** An error's class name and code for the log, when they look like identifiers (they could be anything). */
function errorFields(err: unknown): { error: string; code?: string } {
  const name = err instanceof Error ? err.name : typeof err;
  const code = (err as { code?: unknown } | null)?.code;
  return {
    error: /^[A-Za-z_$][\w$]{0,63}$/.test(name) ? name : 'Error',
    ...(typeof code === 'string' && /^[A-Z][A-Z0-9_]{0,63}$/.test(code) ? { code } : {}),
  };
}

/** The route pattern that failed (never the URL: a webhook URL holds its token). */
function routeOf(req: Request): string | undefined {
  return typeof req.route?.path === 'string' ? req.route.path : undefined;
}

/**
 * Express error middleware of the router: maps the error with {@link mapError}
 * and logs only server errors (5xx except timeouts), naming the route pattern
 * rather than the URL — a webhook URL contains its token. A webhook body
 * lost to a body parser mounted before the router (500) is logged once per
 * process, with how to fix the mounting.
 *
 * The log line has the error's class name and `code` (ECONNREFUSED...), not
 * its message: any error — a Redis reply, Express's URIError, an app's auth
 * middleware — can quote request data (a token, a payload, a key name), and
 * the log must never hold those. The app's own error handling still sees the
 * full error when it wraps the router.
 */
export function errorMiddleware(logger: RouterLogger): ErrorRequestHandler {
  return (err, req: Request, res, next) => {
    if (res.headersSent) {
      // Too late to send a status: let Express close the connection.
      next(err);
      return;
    }
    const mapped = mapError(err);
    if (err instanceof Error && err.name === 'WebhookBodyUnavailableError') {
      // Its message is fixed text (how to mount the parsers), never request data.
      if (!bodyUnavailableLogged) logger('error', `workflow-redis/express: ${err.message}`, { method: req.method, route: routeOf(req) });
      bodyUnavailableLogged = true;
    } else if (mapped.status >= 500 && mapped.status !== 504) {
      logger('error', 'workflow-redis/express: request failed', {
        method: req.method,
        route: routeOf(req),
        ...errorFields(err),
      });
    }
    res.status(mapped.status).json(mapped.body);
  };
}
