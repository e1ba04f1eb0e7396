/**
 * Helpers shared by the Express integration tests (not a spec file): an HTTP
 * server on a free port for an app, and small request shorthands.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';

/** A running server: its base URL and a close function. */
export interface Served {
  url: string;
  close(): Promise<void>;
}

/** Serves `app` on 127.0.0.1, port 0. */
export async function serve(app: Express): Promise<Served> {
  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** POSTs `body` (a string is sent as is, anything else as JSON) with a JSON content type. */
export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

/** Status and parsed JSON body of a response. */
export async function jsonOf(res: Response): Promise<{ status: number; body: any }> {
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body };
}

/** What {@link rawRequest} got back; `status` 0 when the server closed the connection without an answer. */
export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  /** The socket error when `status` is 0. */
  error?: string;
}

/** Options of {@link rawRequest}. */
export interface RawRequestOptions {
  method?: string;
  /** Sent as given (Node only refuses spaces and control characters): `%ZZ`, `..%2f` and `//x` reach the server. */
  path: string;
  headers?: Record<string, string | string[]>;
  body?: Buffer | string;
  /** Fails the request (rejects) after this long. Default 15 s. */
  timeoutMs?: number;
}

/**
 * One request with node:http, not fetch: fetch refuses methods such as
 * TRACE and CONNECT, and some headers, so their bytes would never be sent.
 */
export function rawRequest(baseUrl: string, opts: RawRequestOptions): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers = { ...opts.headers };
    // Node frames a body with Content-Length only for some methods (not GET, DELETE, OPTIONS...): without it
    // the server would see no body, and the bytes as a next request.
    const named = Object.keys(headers).map((h) => h.toLowerCase());
    if (opts.body !== undefined && !named.includes('content-length') && !named.includes('transfer-encoding')) {
      headers['content-length'] = String(Buffer.byteLength(opts.body));
    }
    const req = http.request({ hostname, port, method: opts.method ?? 'GET', path: opts.path, headers, agent: false });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`no answer within ${opts.timeoutMs ?? 15_000} ms`));
    }, opts.timeoutMs ?? 15_000);
    const closed = (err: Error) => {
      clearTimeout(timer);
      resolve({ status: 0, headers: {}, body: '', error: err.message });
    };
    req.on('error', closed);
    // A CONNECT the server accepts would be a tunnel: not expected here.
    req.on('connect', (res, socket) => {
      socket.destroy();
      clearTimeout(timer);
      resolve({ status: res.statusCode ?? 0, headers: res.headers, body: '' });
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', closed);
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
      });
    });
    req.end(opts.body);
  });
}
