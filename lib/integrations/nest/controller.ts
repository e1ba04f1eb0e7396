/**
 * The webhook route of the Nest integration (Express platform):
 * `ALL /.well-known/workflow/v1/webhook/:token`, the URL that `createWebhook()`
 * hands out as `webhook.url`.
 *
 * What the app must set:
 * - `NestFactory.create(AppModule, { rawBody: true })` so JSON and form bodies
 *   reach the workflow byte for byte (see `http.ts`); other content types are
 *   read from the stream. Without it, a JSON or form webhook is answered `500`
 *   with that advice (logged once per process) and nothing is delivered:
 *   re-encoding the parsed body would break signature checks. Nest's JSON
 *   parser limits bodies to 100 kB unless raised with
 *   `app.useBodyParser('json', { limit: '1mb' })`.
 * - A global prefix must exclude this route, or `webhook.url` will not match:
 *   `app.setGlobalPrefix('api', { exclude: ['.well-known/workflow/v1/webhook/:token'] })`.
 * - `publicUrl` in `WorkflowModule.forRoot()` (or on the worker) is the base
 *   of `webhook.url`.
 */
import 'reflect-metadata';
import {
  All,
  BadRequestException,
  Controller,
  GatewayTimeoutException,
  InternalServerErrorException,
  Logger,
  MethodNotAllowedException,
  NotFoundException,
  Param,
  PayloadTooLargeException,
  Req,
  Res,
} from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import {
  DEFAULT_MAX_PAYLOAD_BYTES,
  HookNotFoundError,
  InvalidArgumentError,
  PayloadTooLargeError,
  WebhookResponseTimeoutError,
} from '../../api.js';
import { WebhookBodyUnavailableError } from '../webhook-body.js';
import { isWebhookMethod, WEBHOOK_ALLOW, WEBHOOK_METHOD_NOT_ALLOWED } from '../webhook-methods.js';
import { toWebRequest, WebhookBodyAbortedError, writeWebResponse, type NodeRequestLike } from './http.js';
import { WorkflowService } from './service.js';

/** Path of the controller; the route is `${WEBHOOK_CONTROLLER_PATH}/webhook/:token`. */
export const WEBHOOK_CONTROLLER_PATH = '.well-known/workflow/v1';

/** Whether the missing `rawBody: true` was logged: once per process, it is the same fix every time. */
let bodyUnavailableLogged = false;

/**
 * Receives webhook calls and resumes the webhook's workflow with the request
 * (`resumeWebhook`), then writes the workflow's response: `202` by default,
 * the static `respondWith` response, or the one a step sends (`'manual'`).
 *
 * Errors: `404` for an unknown or finished token and for tokens of plain
 * (non-webhook) hooks, `400` for a malformed token or an aborted body, `405`
 * (with `Allow`) for methods a Fetch `Request` cannot carry (TRACE...), `413`
 * for a body over `maxPayloadBytes`, `504` when a `'manual'` webhook did not
 * respond within `webhookResponseTimeoutMs`, `500` (nothing delivered) when
 * Nest parsed a JSON or form body of an app created without `rawBody: true`.
 * A malformed `%`-escape in the token fails in Express's router before this
 * controller runs; Nest answers it with a 400.
 * They are thrown as Nest HTTP exceptions, so the app's exception filters
 * format them.
 */
export class WorkflowWebhookController {
  private readonly logger = new Logger('WorkflowWebhookController');

  /** Created by Nest. */
  constructor(private readonly workflows: WorkflowService) {}

  /** Handles `ALL /.well-known/workflow/v1/webhook/:token`. */
  async handle(req: NodeRequestLike, res: ServerResponse, token: string): Promise<void> {
    const method = (req.method ?? 'GET').toUpperCase();
    if (!isWebhookMethod(method)) {
      // A Fetch Request cannot carry TRACE and the like: 405, not the TypeError of new Request().
      res.setHeader('Allow', WEBHOOK_ALLOW);
      throw new MethodNotAllowedException(WEBHOOK_METHOD_NOT_ALLOWED);
    }
    let response: Response;
    try {
      const request = await toWebRequest(req, {
        maxBodyBytes: this.workflows.moduleOptions.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES,
      });
      const responseTimeoutMs = this.workflows.moduleOptions.webhookResponseTimeoutMs;
      response = await this.workflows.resumeWebhook(token, request, { responseTimeoutMs });
    } catch (err) {
      this.explainBodyUnavailable(err);
      throw toHttpException(err);
    }
    await writeWebResponse(res, response, { head: method === 'HEAD' });
  }

  private explainBodyUnavailable(err: unknown): void {
    if (bodyUnavailableLogged || !WebhookBodyUnavailableError.is(err)) return;
    bodyUnavailableLogged = true;
    // A fixed message (how to create the app), never request data.
    this.logger.error(err.message);
  }
}

/** Maps workflow-redis errors to Nest HTTP exceptions; other errors pass through (500). */
function toHttpException(err: unknown): unknown {
  if (HookNotFoundError.is(err)) return new NotFoundException('Webhook not found');
  if (InvalidArgumentError.is(err)) return new BadRequestException(err.message);
  if (WebhookBodyAbortedError.is(err)) return new BadRequestException(err.message);
  if (PayloadTooLargeError.is(err)) return new PayloadTooLargeException(err.message);
  if (WebhookResponseTimeoutError.is(err)) return new GatewayTimeoutException(err.message);
  if (WebhookBodyUnavailableError.is(err)) return new InternalServerErrorException(err.message);
  return err;
}

Controller(WEBHOOK_CONTROLLER_PATH)(WorkflowWebhookController);
Reflect.defineMetadata('design:paramtypes', [WorkflowService], WorkflowWebhookController);
const proto = WorkflowWebhookController.prototype;
All('webhook/:token')(proto, 'handle', Object.getOwnPropertyDescriptor(proto, 'handle')!);
Req()(proto, 'handle', 0);
Res()(proto, 'handle', 1);
Param('token')(proto, 'handle', 2);
Reflect.defineMetadata('design:paramtypes', [Object, Object, String], proto, 'handle');
