/** Waits for manual webhook responses announced on pub/sub (one subscriber per process). */
import type { Redis } from 'ioredis';
import { WorkflowError } from '../errors/errors.js';
import type { Store } from '../redis/store.js';

/** A `'manual'` webhook did not get `request.respondWith()` in time. */
export class WebhookResponseTimeoutError extends WorkflowError {
  constructor(ms: number) {
    super(`The workflow did not call request.respondWith() within ${ms} ms. Call it from a step soon after the webhook payload arrives.`);
  }
}

export class ResponseWaiter {
  private sub: Redis | undefined;
  private ready: Promise<unknown> | undefined;
  private readonly waiters = new Map<string, () => void>();
  constructor(private readonly store: Store) {}

  /** Resolves with the stored response text, or rejects after `timeoutMs`. */
  async wait(responseId: string, timeoutMs: number): Promise<string> {
    if (!this.ready) {
      const sub = (this.store.client as Redis).duplicate();
      sub.on('error', () => undefined);
      this.sub = sub;
      sub.on('message', (_c: string, id: string) => this.waiters.get(id)?.());
      this.ready = sub.subscribe(this.store.keys.webhookResponseChannel());
    }
    await this.ready;
    const deadline = Date.now() + timeoutMs;
    try {
      for (;;) {
        let wake!: () => void;
        const woken = new Promise<void>((r) => (wake = r));
        this.waiters.set(responseId, wake);
        const got = await this.store.takeWebhookResponse(responseId);
        if (got !== null) return got;
        const left = deadline - Date.now();
        if (left <= 0) throw new WebhookResponseTimeoutError(timeoutMs);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([woken, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
        clearTimeout(timer);
      }
    } finally {
      this.waiters.delete(responseId);
    }
  }

  /** Closes the subscriber connection. */
  async close(): Promise<void> {
    this.sub?.disconnect();
    this.sub = undefined;
    this.ready = undefined;
  }
}
