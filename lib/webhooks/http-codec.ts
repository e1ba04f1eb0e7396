/**
 * Webhook payloads are HTTP requests. A request is stored as plain data
 * (method, URL, headers, base64 body) and comes back in the workflow as a
 * `WebhookRequest` — a real `Request` that also remembers its stored form, so
 * it can be passed on to steps like any payload.
 */
import { WorkflowError } from '../errors/errors.js';
import { stepStorage } from '../replay/context.js';
import { superjson } from '../serialization/superjson.js';

/** A stored HTTP request. */
export interface StoredRequest {
  method: string;
  url: string;
  headers: [string, string][];
  /** base64, or null for no body. */
  body: string | null;
  /** Set in `'manual'` mode: where `respondWith` sends the response. */
  responseId?: string;
}

/** A stored HTTP response. */
export interface StoredResponse {
  status: number;
  statusText: string;
  headers: [string, string][];
  body: string | null;
}

type Responder = (responseId: string, response: string) => Promise<void>;
let responder: Responder | undefined;

/** @internal The worker sets where manual webhook responses go. */
export function setWebhookResponder(fn: Responder): void {
  responder = fn;
}

const NO_BODY = new Set(['GET', 'HEAD']);

/** The request a workflow receives from a webhook. */
export class WebhookRequest extends Request {
  readonly stored: StoredRequest;
  constructor(stored: StoredRequest) {
    super(stored.url, {
      method: stored.method,
      headers: stored.headers,
      body: stored.body !== null && !NO_BODY.has(stored.method) ? Buffer.from(stored.body, 'base64') : undefined,
    });
    this.stored = stored;
  }

  /**
   * Sends the HTTP response of a webhook created with `respondWith: 'manual'`.
   * Call it inside a step (it is a side effect).
   */
  async respondWith(response: Response): Promise<void> {
    if (!this.stored.responseId) {
      throw new WorkflowError("respondWith() is only available on webhooks created with { respondWith: 'manual' }.");
    }
    if (!stepStorage.getStore()) throw new WorkflowError('request.respondWith() must be called inside a step.');
    if (!responder) throw new WorkflowError('respondWith(): no worker is running in this process.');
    await responder(this.stored.responseId, superjson.stringify((await storeResponse(response)) as never));
  }
}

superjson.registerCustom<WebhookRequest, any>(
  {
    isApplicable: (v): v is WebhookRequest => v instanceof WebhookRequest,
    serialize: (v) => v.stored as never,
    deserialize: (d) => new WebhookRequest(d as StoredRequest),
  },
  'WebhookRequest',
);

/** Reads a Request into its stored form. */
export async function storeRequest(req: Request, responseId?: string): Promise<StoredRequest> {
  const buf = NO_BODY.has(req.method) ? null : Buffer.from(await req.arrayBuffer());
  return {
    method: req.method,
    url: req.url,
    headers: [...req.headers.entries()],
    body: buf && buf.length > 0 ? buf.toString('base64') : null,
    ...(responseId ? { responseId } : {}),
  };
}

/** Reads a Response into its stored form. */
export async function storeResponse(res: Response): Promise<StoredResponse> {
  const buf = Buffer.from(await res.clone().arrayBuffer());
  return {
    status: res.status,
    statusText: res.statusText,
    headers: [...res.headers.entries()],
    body: buf.length > 0 ? buf.toString('base64') : null,
  };
}

/** Rebuilds a Response from its stored form. */
export function loadResponse(s: StoredResponse): Response {
  const noBody = s.status === 204 || s.status === 205 || s.status === 304;
  return new Response(noBody || s.body === null ? null : Buffer.from(s.body, 'base64'), {
    status: s.status,
    statusText: s.statusText,
    headers: s.headers,
  });
}
