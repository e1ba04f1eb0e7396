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
