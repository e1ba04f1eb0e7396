/**
 * Conversions between Node/Express HTTP objects and Web `Request`/`Response`,
 * used by the Nest webhook controller (Express platform).
 *
 * The webhook request must reach the workflow with its exact bytes. Nest's
 * Express adapter parses JSON and urlencoded bodies before the controller runs,
 * so create the app with `NestFactory.create(AppModule, { rawBody: true })`:
 * the parsers then keep the bytes on `req.rawBody`, which is what is used.
 * Bodies of other content types are not parsed by Nest and are read from the
 * request stream. Without `rawBody: true`, a body Nest already parsed into an
 * object is refused (`WebhookBodyUnavailableError`): re-encoding `req.body`
 * would not give back the bytes the sender signed (Stripe, GitHub...).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PayloadTooLargeError, WorkflowError } from '../../errors/errors.js';
import { NEST_BODY_CONSUMED, parsedBody, WebhookBodyUnavailableError } from '../webhook-body.js';

/** The client closed the connection before the webhook body was read (the controller answers 400, and logs nothing). */
export class WebhookBodyAbortedError extends WorkflowError {
  constructor() {
    super('The webhook request was aborted before its body was read.');
  }
}

/** A Node request as Express and Nest hand it over (the extra fields are optional). */
export interface NodeRequestLike extends IncomingMessage {
  /** Parsed body (body-parser, `express.json()`...). */
  body?: unknown;
  /** Exact body bytes, kept by Nest when the app is created with `rawBody: true`. */
  rawBody?: Buffer;
  /** Express: the URL before routers rewrote `req.url`. */
  originalUrl?: string;
  /** Express: `http` or `https` (honours `trust proxy`). */
  protocol?: string;
}

/** Options of {@link toWebRequest}. */
export interface ToWebRequestOptions {
  /**
   * Largest body, in bytes: read from the request stream, or declared by an
   * uncompressed request's `content-length`. Larger bodies reject with
   * `PayloadTooLargeError`. Default 1 MiB.
   */
  maxBodyBytes?: number;
}

const NO_BODY = new Set(['GET', 'HEAD']);
const DEFAULT_MAX_BODY = 1024 * 1024;

interface BodyBytes {
  bytes: Buffer | null;
  /** The bytes are the decoded body (a body parser undid its content-encoding). */
  decoded: boolean;
}

function requestUrl(req: NodeRequestLike): string {
  const path = req.originalUrl ?? req.url ?? '/';
  const proto = req.protocol ?? ((req.socket as { encrypted?: boolean } | undefined)?.encrypted ? 'https' : 'http');
  const host = req.headers.host ?? 'localhost';
  try {
    return new URL(path, `${proto}://${host}`).href;
  } catch {
    // A bad Host, or a path that URL() reads as a host ('//[...', '/\\x'): keep it a path.
    return new URL(`/${path.replace(/^[/\\]+/, '')}`, 'http://localhost').href;
  }
}

async function readStream(req: NodeRequestLike, limit: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) {
    req.resume();
    throw new PayloadTooLargeError(declared, limit, 'webhook request body');
  }
  // Events rather than `for await`: leaving an async iterator early destroys the
  // socket, and the 413 could not be sent.
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer | string): void => {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      size += buf.length;
      if (size > limit) {
        cleanup();
        req.resume(); // discard the rest
        reject(new PayloadTooLargeError(size, limit, 'webhook request body'));
        return;
      }
      chunks.push(buf);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new WebhookBodyAbortedError());
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A body declared larger than `limit` by an uncompressed request: refused before anything else. */
function checkDeclaredLength(req: NodeRequestLike, limit: number): void {
  const encoding = String(req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  const declared = Number(req.headers['content-length']);
  if (encoding === 'identity' && Number.isFinite(declared) && declared > limit) {
    if (!req.readableEnded) req.resume();
    throw new PayloadTooLargeError(declared, limit, 'webhook request body');
  }
}

async function readBody(req: NodeRequestLike, opts: ToWebRequestOptions): Promise<BodyBytes> {
  const limit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
  checkDeclaredLength(req, limit);
  const got = parsedBody(req);
  switch (got.kind) {
    case 'bytes':
      return { bytes: got.bytes, decoded: true };
    case 'empty':
      return { bytes: null, decoded: false };
    case 'unread':
      return { bytes: await readStream(req, limit), decoded: false };
    case 'lost':
      throw new WebhookBodyUnavailableError(NEST_BODY_CONSUMED);
  }
}

/**
 * Converts a Node/Express request into a Web `Request`: same method, full URL
 * (`req.protocol`, `Host`, `req.originalUrl`), all headers and the body bytes
 * (from `req.rawBody`, a raw parser's `req.body`, a text parser's string when
 * it round-trips exactly, or the unread stream).
 *
 * @throws WebhookBodyUnavailableError when a parser consumed the body without
 *   keeping its bytes (an app without `rawBody: true`): nothing is delivered.
 * @throws PayloadTooLargeError for a body over `maxBodyBytes`.
 */
export async function toWebRequest(req: NodeRequestLike, opts: ToWebRequestOptions = {}): Promise<Request> {
  const method = (req.method ?? 'GET').toUpperCase();
  const headers = new Headers();
  const raw = req.rawHeaders ?? [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.startsWith(':')) continue; // HTTP/2 pseudo-headers
    try {
      headers.append(name, raw[i + 1]!);
    } catch {
      // a header value the Fetch API rejects: leave it out
    }
  }
  let body: Buffer | null = null;
  if (!NO_BODY.has(method)) {
    const got = await readBody(req, opts);
    body = got.bytes && got.bytes.length > 0 ? got.bytes : null;
    if (got.decoded) {
      // The bytes are no longer what these headers describe.
      headers.delete('content-encoding');
      headers.delete('content-length');
    }
  }
  return new Request(requestUrl(req), { method, headers, body });
}

/**
 * Writes a Web `Response` to a Node/Express response: status, status text,
 * headers (several `Set-Cookie` kept apart) and body. Ends the response.
 */
export async function writeWebResponse(res: ServerResponse, response: Response, opts: { head?: boolean } = {}): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  for (const [name, value] of response.headers) {
    if (name !== 'set-cookie') res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (!response.body || opts.head) {
    await response.body?.cancel();
    res.end();
    return;
  }
  res.end(Buffer.from(await response.arrayBuffer()));
}
