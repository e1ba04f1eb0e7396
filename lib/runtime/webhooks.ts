/** resumeWebhook: resumes a webhook hook with an HTTP request and returns the HTTP response. */
import { HookNotFoundError } from '../errors/errors.js';
import { deserialize, serializeLimited } from '../serialization/codec.js';
import { superjson } from '../serialization/superjson.js';
import { loadResponse, storeRequest, WebhookRequest, type StoredResponse } from '../webhooks/http-codec.js';
import { getConfig, getResponseWaiter, getStore } from './config.js';
import { newResumeId } from './ids.js';
import { assertOutsideWorkflow } from './outside-workflow.js';
import { assertToken } from './validate.js';

/** How long resumeWebhook waits for a `'manual'` response (ms). */
export const DEFAULT_WEBHOOK_RESPONSE_TIMEOUT_MS = 30_000;

export { WebhookResponseTimeoutError } from './webhook-waiter.js';


/**
 * Resumes the webhook holding `token` with `request` and returns the HTTP
 * response: `202` by default, the webhook's static response, or — with
 * `respondWith: 'manual'` — the response a step sends with `request.respondWith()`.
 * A plain (non-webhook) hook is reported as not found. Rejects with
 * `UnavailableInWorkflowError` in workflow code (call it from a step).
 */
export async function resumeWebhook(token: string, request: Request, opts: { responseTimeoutMs?: number } = {}): Promise<Response> {
  assertOutsideWorkflow('resumeWebhook()');
  assertToken(token);
  const store = await getStore();
  // Cheap pre-check so a manual webhook gets a response id and unknown tokens do not read the body.
  const pre = await store.getHook(token);
  if (!pre || pre.isWebhook !== true) throw new HookNotFoundError(token);
  const responseId = pre.respondWith === 'manual' ? newResumeId() : undefined;
  const stored = await storeRequest(request, responseId);
  // A request is stored as a fixed small record (its body is bytes): within any depth limit.
  const data = serializeLimited(new WebhookRequest(stored), getConfig().maxPayloadBytes, 'webhook request', {
    wrapKey: 'payload',
    maxDepth: getConfig().maxPayloadDepth,
  });
  const { hook } = await store.resumeHook(token, data, newResumeId(), { webhookOnly: true });
  if (hook.respondWith === 'manual' && responseId) {
    const text = await (await getResponseWaiter()).wait(responseId, opts.responseTimeoutMs ?? DEFAULT_WEBHOOK_RESPONSE_TIMEOUT_MS);
    return loadResponse(superjson.parse<StoredResponse>(text));
  }
  if (hook.respondWith && hook.respondWith !== 'manual') return loadResponse(deserialize<StoredResponse>(hook.respondWith));
  return new Response(null, { status: 202 });
}
