/**
 * Express ↔ Fetch API: the webhook route hands `resumeWebhook` a Web
 * `Request` and sends the Web `Response` it gets back.
 */
import type { Request as ExpressRequest, Response as ExpressResponse } from 'express';
import { EXPRESS_BODY_CONSUMED, EXPRESS_BODY_UNREAD, parsedBody, WebhookBodyUnavailableError } from '../webhook-body.js';

/**
 * Hop-by-hop headers describe this one connection, not the message: they are
 * dropped both ways. `content-length` is recomputed from the buffered body.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'content-length',
]);

const NO_BODY_METHODS = new Set(['GET', 'HEAD']);

/** The absolute URL of the request; a garbage Host header falls back to localhost instead of failing. */
function requestUrl(req: ExpressRequest): string {
  const host = req.get('host') || 'localhost';
  try {
    return new URL(req.originalUrl, `${req.protocol}://${host}`).href;
  } catch {
    // A bad Host, or a path that URL() reads as a host ('//[...', '/\\x'): keep it a path.
    return new URL(`/${req.originalUrl.replace(/^[/\\]+/, '')}`, 'http://localhost').href;
  }
}

/**
 * The body bytes of an Express request, as the body parsers left them: the
 * bytes kept on `req.rawBody` (`keepRawBody`), a raw parser's Buffer, or a
 * text parser's string when it provably round-trips.
 *
 * @throws WebhookBodyUnavailableError when a parser consumed the body without
 *   keeping its bytes, or when no parser has read it yet.
 */
function bodyBytes(req: ExpressRequest): Buffer | undefined {
  const got = parsedBody(req);
  if (got.kind === 'lost') throw new WebhookBodyUnavailableError(EXPRESS_BODY_CONSUMED);
  if (got.kind === 'unread') throw new WebhookBodyUnavailableError(EXPRESS_BODY_UNREAD);
  return got.kind === 'bytes' && got.bytes.length > 0 ? got.bytes : undefined;
}

/**
 * Builds a Web `Request` from an Express request whose body was read by a
 * body parser: `express.raw()`, or any parser given `{ verify: keepRawBody }`.
 * The body is the decoded one (the parser undid gzip/deflate/br), so
 * `content-encoding` is dropped with it.
 *
 * @throws WebhookBodyUnavailableError when the exact body bytes are not
 *   available (a JSON or form parser consumed them): nothing is delivered
 *   rather than a wrong body.
 */
export function toWebRequest(req: ExpressRequest): Request {
  const headers = new Headers();
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower) || lower === 'content-encoding') continue;
    try {
      headers.append(name, req.rawHeaders[i + 1]!);
    } catch {
      // Node's parser accepts a few bytes the Headers class rejects; skip such a header rather than fail.
    }
  }
  const body = NO_BODY_METHODS.has(req.method) ? undefined : bodyBytes(req);
  return new Request(requestUrl(req), { method: req.method, headers, body });
}

/** Sends a Web `Response` through Express: status, headers (each Set-Cookie kept apart) and the body bytes. */
export async function sendWebResponse(res: ExpressResponse, response: Response): Promise<void> {
  res.status(response.status);
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (HOP_BY_HOP.has(name) || name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  const body = Buffer.from(await response.arrayBuffer());
  // res.end, not res.send: send would add an ETag and rewrite the content type.
  res.end(body.length > 0 ? body : undefined);
}
