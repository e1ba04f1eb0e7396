/**
 * The webhook body as the app's body parsers left it, for the Express and
 * Nest webhook routes. A webhook must reach its workflow with the exact bytes
 * the sender signed (Stripe, GitHub...): a body a JSON or form parser turned
 * into an object cannot be re-encoded into those bytes, so it is refused
 * loudly instead of being delivered wrong — or, worse, empty with a 202.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WorkflowError } from '../errors/errors.js';

/**
 * The webhook body was read before the webhook route ran and its exact bytes
 * were not kept: a server misconfiguration (how the app mounts its body
 * parsers), not the sender's fault. The routes answer 500 — webhook senders
 * retry 5xx, so deliveries succeed once the app is fixed — and resume nothing.
 */
export class WebhookBodyUnavailableError extends WorkflowError {}

/** The Express router's answer when a body parser mounted before it consumed the webhook body. */
export const EXPRESS_BODY_CONSUMED =
  'The webhook body was already read by a body parser mounted before workflowRouter(), which did not keep its exact bytes; ' +
  'nothing was delivered. Mount workflowRouter() before express.json(), express.urlencoded() and express.text(), ' +
  'or pass the parsers { verify: keepRawBody } (from workflow-redis/express).';

/** `toWebRequest()` of workflow-redis/express was called on a request whose body no parser has read. */
export const EXPRESS_BODY_UNREAD =
  'The webhook body has not been read: run express.raw({ type: () => true }) before toWebRequest(), or use workflowRouter().';

/** The Nest controller's answer when Nest parsed the webhook body without keeping its bytes. */
export const NEST_BODY_CONSUMED =
  'The webhook body was already parsed by Nest, which did not keep its exact bytes; nothing was delivered. ' +
  'Create the app with NestFactory.create(AppModule, { rawBody: true }).';

/** The request fields the body parsers set. */
interface ParsedRequest extends IncomingMessage {
  body?: unknown;
  rawBody?: unknown;
}

/**
 * A body-parser `verify` hook that keeps the exact body bytes on
 * `req.rawBody` (where Nest's `rawBody: true` keeps them too), so the webhook
 * route of `workflowRouter()` can deliver them even when this parser ran
 * first. The bytes are the body after its content-encoding was undone.
 *
 * @example
 * ```ts
 * app.use(express.json({ verify: keepRawBody }));
 * app.use(express.urlencoded({ verify: keepRawBody }));
 * app.use(workflowRouter({ auth }));
 * ```
 */
export function keepRawBody(req: IncomingMessage, _res: ServerResponse, buf: Buffer): void {
  (req as ParsedRequest).rawBody = buf;
}

/** What the parsers left of a request's body. */
export type ParsedBody =
  /** The exact bytes (decoded from any content-encoding). */
  | { kind: 'bytes'; bytes: Buffer }
  /** The request declares no body, or an empty one. */
  | { kind: 'empty' }
  /** Nobody has read the stream yet. */
  | { kind: 'unread' }
  /** A parser consumed the stream and kept something other than the bytes. */
  | { kind: 'lost' };

/** type-is's hasBody: a body is framed by Transfer-Encoding or Content-Length. */
function declaresBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return length !== undefined && Number(length) !== 0;
}

/**
 * The bytes behind a text parser's string, when they provably round-trip:
 * UTF-8 (or no charset), no content-encoding, no U+FFFD (what invalid bytes
 * decode to) and as many UTF-8 bytes as Content-Length said — which also
 * catches a BOM the decoder stripped and a Latin-1 default charset.
 */
function exactText(req: IncomingMessage, text: string): Buffer | undefined {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(req.headers['content-type'] ?? ''))?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) return undefined;
  const encoding = req.headers['content-encoding'];
  if (encoding !== undefined && encoding.trim().toLowerCase() !== 'identity') return undefined;
  if (text.includes('\uFFFD')) return undefined;
  const bytes = Buffer.from(text, 'utf8');
  return Number(req.headers['content-length']) === bytes.length ? bytes : undefined;
}

/** True once the request stream has been read to its end (body-parser's "already parsed" test). */
function consumed(req: IncomingMessage): boolean {
  return req.readableEnded || (req.complete && !req.readable) || (req as { readableDidRead?: boolean }).readableDidRead === true;
}

/**
 * What is left of the body of `req`: the kept bytes (`req.rawBody`, a raw
 * parser's Buffer, a text parser's string that round-trips), nothing, an
 * unread stream, or a body parsed into something that is not its bytes.
 */
export function parsedBody(req: IncomingMessage): ParsedBody {
  const { rawBody, body } = req as ParsedRequest;
  if (Buffer.isBuffer(rawBody)) return { kind: 'bytes', bytes: rawBody };
  if (Buffer.isBuffer(body)) return { kind: 'bytes', bytes: body };
  if (!declaresBody(req)) return { kind: 'empty' };
  if (!consumed(req)) return { kind: 'unread' };
  const text = typeof body === 'string' ? exactText(req, body) : undefined;
  return text ? { kind: 'bytes', bytes: text } : { kind: 'lost' };
}
