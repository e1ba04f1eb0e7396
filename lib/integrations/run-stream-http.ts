/**
 * A run's stream over HTTP, for any Node server (the Express router's
 * `GET /runs/:runId/stream`, a Nest controller of the app's own): Server-Sent
 * Events when the client accepts `text/event-stream` (an EventSource does),
 * NDJSON otherwise. Each chunk is sent as plain JSON (superjson values through
 * toJsonSafe: bytes as base64, Dates as ISO strings...); the response ends
 * when the stream ends.
 *
 * SSE: `id:` is the chunk's index, so a reconnecting EventSource (which sends
 * `Last-Event-ID`) goes on after the last chunk it got; the end is an
 * `event: end`; a comment line every 15 s keeps proxies from closing an idle
 * response. Back-pressure: the next chunk is read once the socket drained.
 * A client that goes away cancels the reader.
 */
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import { InvalidArgumentError } from '../errors/errors.js';
import { getRun } from '../runtime/run.js';
import { getStreamMux } from '../runtime/config.js';
import { checkReadableOptions } from '../runtime/stream-reader.js';
import { toJsonSafe } from '../inspect/json-safe.js';

/** What to stream: the query of `GET /runs/:runId/stream` (`namespace`, `startIndex`). */
export interface RunStreamQuery {
  namespace?: string;
  startIndex?: string;
}

/** Seconds between SSE keep-alive comments. */
const KEEPALIVE_MS = 15_000;

/** The startIndex of the request: `?startIndex=` (an integer, negative from the end), or after SSE's Last-Event-ID. */
function startIndexOf(query: RunStreamQuery, headers: IncomingHttpHeaders, sse: boolean): number | undefined {
  const last = headers['last-event-id'];
  if (sse && typeof last === 'string' && /^\d{1,15}$/.test(last)) return Number(last) + 1;
  const raw = query.startIndex;
  if (raw === undefined || raw === '') return undefined;
  if (!/^-?\d{1,15}$/.test(raw)) {
    throw new InvalidArgumentError('Query parameter "startIndex": use an integer (0 = the first chunk, -n = n chunks before the end).');
  }
  return Number(raw);
}

/**
 * Checks the request and the run (InvalidArgumentError → 400,
 * WorkflowRunNotFoundError → 404, before anything is written), then streams
 * the run's chunks to `res` until the stream ends or the client goes away.
 */
export async function writeRunStream(
  runId: string,
  query: RunStreamQuery,
  headers: IncomingHttpHeaders,
  res: ServerResponse,
): Promise<void> {
  const sse = /\btext\/event-stream\b/.test(String(headers.accept ?? ''));
  const startIndex = startIndexOf(query, headers, sse);
  const opts = { namespace: query.namespace === '' ? undefined : query.namespace, startIndex };
  // Checked before anything is written: a bad namespace (400), an unknown run (404).
  try {
    checkReadableOptions(opts);
  } catch (err) {
    throw new InvalidArgumentError(`Query parameter "namespace": ${(err as Error).message}`);
  }
  await getRun(runId).status;
  const reader = getStreamMux()
    .entries<unknown, { index: number; value: unknown }>(runId, opts, (index, value) => ({ index, value }))
    .getReader();
  res.writeHead(200, {
    'content-type': sse ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-cache, no-transform',
    'x-accel-buffering': 'no',
    connection: 'keep-alive',
  });
  res.flushHeaders();
  let gone = false;
  const onClose = () => {
    gone = true;
    void reader.cancel().catch(() => undefined);
  };
  res.on('close', onClose);
  const keepAlive = sse ? setInterval(() => res.write(': keep-alive\n\n'), KEEPALIVE_MS) : undefined;
  keepAlive?.unref();
  try {
    for (let r = await reader.read(); !r.done && !gone; r = await reader.read()) {
      const json = JSON.stringify(toJsonSafe(r.value.value)) ?? 'null';
      const line = sse ? `id: ${r.value.index}\ndata: ${json}\n\n` : `${json}\n`;
      if (!res.write(line)) await new Promise<void>((resolve) => res.once('drain', resolve).once('close', resolve));
    }
    if (!gone) {
      if (sse) res.write('event: end\ndata: {}\n\n');
      res.end();
    }
  } catch {
    // The stream failed mid-way (Redis gone...): the status is sent already; end the response.
    if (!gone) res.end();
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    res.off('close', onClose);
  }
}
