/** createHook, defineHook and sleep: the workflow-side primitives. */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidArgumentError, WorkflowError } from '../errors/errors.js';
import type { HookCall } from '../replay/calls.js';
import { currentExecution } from '../replay/context.js';
import { realNow } from '../replay/determinism.js';
import { newHookToken } from '../runtime/ids.js';
import { resumeHook, type HookInfo } from '../runtime/hooks.js';
import { assertTags, assertToken } from '../runtime/validate.js';
import { serialize } from '../serialization/codec.js';
import { resolveDuration, type Duration } from './duration.js';

const disposeSymbol: symbol = (Symbol as { dispose?: symbol }).dispose ?? Symbol.for('nodejs.dispose');

/** Options of {@link createHook}. */
export interface HookOptions {
  /** A custom token (e.g. `approval:${orderId}`); unique among live hooks. Default: 21 random characters. */
  token?: string;
  /** Data stored with the hook, returned by `getHookByToken`. */
  metadata?: unknown;
  /**
   * Give up waiting after this long (`'2s'`, `'1 day'`, milliseconds) or at
   * this `Date`: a durable timer, like `sleep()`. When it passes with the
   * hook still live, the hook is disposed and its token released (a later
   * resume answers `HookNotFoundError`), and `await hook` — or the next
   * `for await` iteration — rejects with `HookTimeoutError` once the payloads
   * received before it have been delivered.
   */
  timeout?: Duration;
  /**
   * Tags for `resumeHooks({ tag }, payload)` (fan-out to every live hook with
   * the tag): at most 10, each a distinct non-empty string of at most 128
   * bytes without control characters.
   */
  tags?: string[];
}

/**
 * A hook: `await hook` for one payload, `for await (const p of hook)` for
 * many. Payloads that arrive before the code awaits are buffered in order.
 */
export class Hook<T = unknown> implements PromiseLike<T>, AsyncIterable<T> {
  /** @internal */
  constructor(private readonly call: HookCall) {}

  /** The token to hand to whoever resumes this hook. */
  get token(): string {
    return this.call.token;
  }

  /** Awaiting the hook yields its next payload. */
  then<A = T, B = never>(onfulfilled?: ((value: T) => A | PromiseLike<A>) | null, onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<A | B> {
    return (this.call.next() as Promise<T>).then(onfulfilled, onrejected);
  }

  /** Yields payloads until the hook is disposed. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    while (!this.call.disposed) yield (await this.call.next()) as T;
  }

  /** Releases the token (recorded at the next suspension); idempotent. */
  dispose(): void {
    this.call.dispose();
  }

  /** `using hook = createHook()` disposes it at the end of the block. */
  [disposeSymbol](): void {
    this.dispose();
  }
}

function requireExecution(what: string) {
  const ex = currentExecution();
  if (!ex) throw new WorkflowError(`${what} can only be called inside a workflow function.`);
  return ex;
}

/** @internal Shared by createHook and createWebhook. */
export function createHookCall(
  opts: HookOptions & { isWebhook?: boolean; respondWith?: string; respondWithAsync?: () => Promise<string> },
  what: string,
): HookCall {
  const ex = requireExecution(what);
  if (opts.token !== undefined) assertToken(opts.token);
  if (opts.tags !== undefined) assertTags(opts.tags, `${what.replace('()', '')}({ tags })`);
  const timeoutAt = opts.timeout === undefined ? undefined : resolveDuration(opts.timeout, realNow());
  const metadata = opts.metadata === undefined ? undefined : serialize(opts.metadata, 'hook metadata');
  return ex.createHook({
    token: opts.token,
    newToken: newHookToken,
    metadata,
    timeoutAt,
    tags: opts.tags === undefined || opts.tags.length === 0 ? undefined : [...opts.tags],
    isWebhook: opts.isWebhook === true,
    respondWith: opts.respondWith,
    respondWithAsync: opts.respondWithAsync,
  });
}

/** Creates a hook inside a workflow. Registered when the workflow next suspends. */
export function createHook<T = unknown>(opts: HookOptions = {}): Hook<T> {
  return new Hook<T>(createHookCall(opts, 'createHook()'));
}

/** A typed hook definition: `create()` inside workflows, `resume()` outside. */
export interface TypedHook<TInput, TOutput = TInput> {
  create(opts?: HookOptions): Hook<TOutput>;
  /** Validates `payload` with the schema (nothing is written when it fails), then resumes. */
  resume(token: string, payload: TInput): Promise<HookInfo>;
}

/** Raised by `defineHook(...).resume` when the payload fails the schema; nothing was written. */
export class HookPayloadValidationError extends WorkflowError {
  readonly issues: ReadonlyArray<StandardSchemaV1.Issue>;
  constructor(issues: ReadonlyArray<StandardSchemaV1.Issue>) {
    super(`The hook payload does not match the schema: ${issues.map((i) => `${(i.path ?? []).map((p) => (typeof p === 'object' ? p.key : p)).join('.') || '(root)'}: ${i.message}`).join('; ')}`);
    this.issues = issues;
  }
}

/** Defines a hook type, validated with any Standard Schema v1 library (zod, valibot, arktype). */
export function defineHook<TInput = unknown, TOutput = TInput>(
  opts: { schema?: StandardSchemaV1<TInput, TOutput> } = {},
): TypedHook<TInput, TOutput> {
  const schema = opts.schema;
  if (schema !== undefined && typeof schema?.['~standard']?.validate !== 'function') {
    throw new InvalidArgumentError('defineHook({ schema }): schema must implement Standard Schema v1 (zod >= 3.24, valibot, arktype).');
  }
  return {
    create: (o?: HookOptions) => createHook<TOutput>(o),
    async resume(token: string, payload: TInput): Promise<HookInfo> {
      if (!schema) return resumeHook(token, payload);
      let result = schema['~standard'].validate(payload);
      if (result instanceof Promise) result = await result;
      if (result.issues) throw new HookPayloadValidationError(result.issues);
      return resumeHook(token, result.value);
    },
  };
}

/** Durable sleep: `'30s'`, `'1 day'`, milliseconds, or a Date. */
export function sleep(duration: Duration): Promise<void> {
  const ex = requireExecution('sleep()');
  return ex.sleep(resolveDuration(duration, realNow()));
}
