/**
 * Which HTTP methods the webhook routes (Express and Nest) accept: those a
 * Fetch API `Request` can carry, since the workflow receives the call as one.
 * The Fetch spec forbids CONNECT, TRACE and TRACK, and `new Request()` throws
 * a TypeError for them — which must be a 405, not a 500.
 */

/** The `Allow` header of a 405 from a webhook route (any other method `new Request()` accepts works too). */
export const WEBHOOK_ALLOW = 'GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS';

/** Body of a webhook route's 405. */
export const WEBHOOK_METHOD_NOT_ALLOWED = `Method not allowed on a webhook URL: use one of ${WEBHOOK_ALLOW}.`;

// Node's HTTP parser only accepts a fixed set of methods (http.METHODS), so this stays small.
const accepted = new Map<string, boolean>();

/** True when `new Request(url, { method })` accepts `method`. */
export function isWebhookMethod(method: string): boolean {
  let ok = accepted.get(method);
  if (ok === undefined) {
    try {
      new Request('http://localhost/', { method });
      ok = true;
    } catch {
      ok = false;
    }
    if (accepted.size < 256) accepted.set(method, ok);
  }
  return ok;
}
