/** createWebhook: a hook whose payloads are HTTP requests, with a public URL. */
import { InvalidArgumentError } from '../errors/errors.js';
import type { Duration } from './duration.js';
import { currentExecution } from '../replay/context.js';
import { serialize } from '../serialization/codec.js';
import { storeResponse, type WebhookRequest } from '../webhooks/http-codec.js';
import { createHookCall, Hook } from './hooks.js';

/** Path of the webhook route (relative to the app's base URL). */
export const WEBHOOK_PATH = '/.well-known/workflow/v1/webhook';

/** Options of {@link createWebhook}. */
export interface WebhookOptions {
  /**
   * The HTTP response: none = `202 Accepted`; a `Response` = that static
   * response; `'manual'` = a step calls `request.respondWith(response)`.
   */
  respondWith?: Response | 'manual';
  /** Data stored with the hook, returned by `getHookByToken`. */
  metadata?: unknown;
  /** Stop accepting requests after this long, or at this Date (see `createHook({ timeout })`): then `await webhook` rejects with `HookTimeoutError`. */
  timeout?: Duration;
}

/** A webhook: await it (or `for await`) to receive `Request`s sent to `.url`. */
export class Webhook extends Hook<WebhookRequest> {
  private readonly baseUrl: string;
  /** @internal */
  constructor(call: ConstructorParameters<typeof Hook<WebhookRequest>>[0], baseUrl: string) {
    super(call);
    this.baseUrl = baseUrl;
  }
  /** Public URL of the webhook: `<base>/.well-known/workflow/v1/webhook/:token`. */
  get url(): string {
    return `${this.baseUrl.replace(/\/+$/, '')}${WEBHOOK_PATH}/${encodeURIComponent(this.token)}`;
  }
}

/** Creates a webhook inside a workflow. Its token is always random. */
export function createWebhook(opts: WebhookOptions = {}): Webhook {
  if ((opts as { token?: unknown }).token !== undefined) {
    throw new InvalidArgumentError('createWebhook() does not take a token: webhook tokens are always random. Use createHook({ token }) for custom tokens.');
  }
  const rw = opts.respondWith;
  if (rw !== undefined && rw !== 'manual' && !(rw instanceof Response)) {
    throw new InvalidArgumentError("createWebhook({ respondWith }): use a Response or 'manual'.");
  }
  const call = createHookCall(
    {
      metadata: opts.metadata,
      timeout: opts.timeout,
      isWebhook: true,
      respondWith: rw === 'manual' ? 'manual' : undefined,
      respondWithAsync: rw instanceof Response ? async () => serialize(await storeResponse(rw)) : undefined,
    },
    'createWebhook()',
  );
  return new Webhook(call, currentExecution()!.publicUrl);
}
