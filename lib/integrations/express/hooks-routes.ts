/**
 * The routes that resume hooks: the two public ones (the seed page's JSON
 * resume route and the webhook route) and the operator's fan-out by tag.
 * They only parse and validate; errors go to the router's error middleware.
 */
import express, { type RequestHandler, type Router } from 'express';
import { WEBHOOK_PATH } from '../../authoring/webhook.js';
import { InvalidArgumentError } from '../../errors/errors.js';
import { getConfig } from '../../runtime/config.js';
import { resumeHook } from '../../runtime/hooks.js';
import { resumeHooks } from '../../runtime/resume-by-tag.js';
import { DEFAULT_WEBHOOK_RESPONSE_TIMEOUT_MS, resumeWebhook } from '../../runtime/webhooks.js';
import { isWebhookMethod, WEBHOOK_ALLOW, WEBHOOK_METHOD_NOT_ALLOWED } from '../webhook-methods.js';
import { routeParam } from './request-params.js';
import { sendWebResponse, toWebRequest } from './web-request.js';

/**
 * Room for the JSON envelope around the payload: the payload limit itself is
 * enforced after serialisation (PayloadTooLargeError → 413), the parser's
 * limit only stops absurd bodies before they are buffered.
 */
const ENVELOPE_BYTES = 64 * 1024;

/**
 * A body parser whose limit follows `configure({ maxPayloadBytes })`, which
 * may change after the router is built; one parser per distinct limit.
 */
function lazyParser(make: (limit: number) => RequestHandler): RequestHandler {
  const byLimit = new Map<number, RequestHandler>();
  return (req, res, next) => {
    const limit = getConfig().maxPayloadBytes + ENVELOPE_BYTES;
    let parser = byLimit.get(limit);
    if (!parser) byLimit.set(limit, (parser = make(limit)));
    parser(req, res, next);
  };
}

/**
 * A RangeError out of resumeHook comes from serialising the payload before
 * anything is written — a value nested so deep that the serialiser runs out
 * of stack (JSON.parse itself does not): bad input, so a 400.
 */
function payloadTooDeep(err: unknown): never {
  if (err instanceof RangeError) {
    throw new InvalidArgumentError('The payload could not be serialised: it is nested too deeply. Send a flatter value.');
  }
  throw err;
}

/** 405 with an `Allow` header for methods a Fetch `Request` cannot carry (TRACE, TRACK...), before the body is read. */
const webhookMethods: RequestHandler = (req, res, next) => {
  if (isWebhookMethod(req.method)) return next();
  res.set('Allow', WEBHOOK_ALLOW).status(405).json({ error: WEBHOOK_METHOD_NOT_ALLOWED });
};

/** Options of {@link mountHookRoutes}. */
export interface HookRoutesOptions {
  /** Path of the JSON resume route. */
  resumePath: string;
  /** How long the webhook route waits for a `'manual'` response (ms). */
  webhookResponseTimeoutMs?: number;
  /** Path of the operator's fan-out route (`POST { tag, data, maxHooks? }`). */
  resumeByTagPath: string;
  /** The operator routes' guards (the app's auth middleware), in front of the fan-out route. */
  guards: RequestHandler[];
}

/**
 * Mounts `POST <resumePath>` (`{ token, data }` → `{ runId }`) and
 * `ALL /.well-known/workflow/v1/webhook/:token` on `router`.
 */
export function mountHookRoutes(router: Router, opts: HookRoutesOptions): void {
  const json = lazyParser((limit) => express.json({ limit, strict: true }));
  const raw = lazyParser((limit) => express.raw({ limit, type: () => true }));

  router.post(opts.resumePath, json, async (req, res) => {
    const body: unknown = req.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidArgumentError('Send a JSON object { "token": "<hook token>", "data": <payload> } with content-type application/json.');
    }
    const { token, data } = body as { token?: unknown; data?: unknown };
    if (token === undefined) throw new InvalidArgumentError('Missing "token": send { "token": "<hook token>", "data": <payload> }.');
    // resumeHook validates the token (type, length) and the payload (serialisable, size) before writing.
    const hook = await resumeHook(token as string, data).catch(payloadTooDeep);
    res.json({ runId: hook.runId });
  });

  // The fan-out writes to every run waiting on the tag: an operator route, behind auth (before the body is read).
  router.post(opts.resumeByTagPath, ...opts.guards, json, async (req, res) => {
    const body: unknown = req.body;
    if (!req.is('application/json') || body === null || typeof body !== 'object' || Array.isArray(body)) {
      throw new InvalidArgumentError('Send a JSON object { "tag": "<tag>", "data": <payload>, "maxHooks"?: <n> } with content-type application/json.');
    }
    const { tag, data, maxHooks } = body as { tag?: unknown; data?: unknown; maxHooks?: unknown };
    if (tag === undefined) throw new InvalidArgumentError('Missing "tag": send { "tag": "<tag>", "data": <payload> }.');
    if (maxHooks !== undefined && typeof maxHooks !== 'number') throw new InvalidArgumentError('"maxHooks" must be a number.');
    // resumeHooks validates the tag, the limit and the payload before writing.
    const hooks = await resumeHooks({ tag: tag as string }, data, { maxHooks }).catch(payloadTooDeep);
    res.json({ resumed: hooks.length, hooks: hooks.map((h) => ({ runId: h.runId, hookId: h.hookId })) });
  });

  const timeoutMs = opts.webhookResponseTimeoutMs ?? DEFAULT_WEBHOOK_RESPONSE_TIMEOUT_MS;
  // `raw` reads the body unless a parser mounted before the router already did: then toWebRequest
  // uses the bytes that parser kept (keepRawBody) or throws, and nothing is resumed.
  router.all(`${WEBHOOK_PATH}/:token`, webhookMethods, raw, async (req, res) => {
    // resumeWebhook reports plain (non-webhook) hooks as not found: the public route cannot resume them.
    const response = await resumeWebhook(routeParam(req, 'token'), toWebRequest(req), { responseTimeoutMs: timeoutMs });
    await sendWebResponse(res, response);
  });
}
