/**
 * `workflowRouter()`: one Express 5 router with the public resume and webhook
 * routes and — only behind the app's auth middleware or an explicit opt-out —
 * the operator routes (runs, event logs, timeline, cancel, the inspector) and
 * the BullMQ dashboard.
 */
import { Router, type RequestHandler } from 'express';
import { InvalidArgumentError } from '../../errors/errors.js';
import { DEFAULT_DASHBOARD_PATH, dashboardHandlers, type DashboardOptions } from './dashboard.js';
import { defaultRouterLogger, errorMiddleware, type RouterLogger } from './errors.js';
import { mountHookRoutes } from './hooks-routes.js';
import { DEFAULT_INSPECTOR_PATH, inspectorPage } from './inspector-page.js';
import { mountRunRoutes } from './runs-routes.js';

/** Default path of the JSON resume route. */
export const DEFAULT_RESUME_PATH = '/hooks/resume';

/** Path of the operator's fan-out route (`resumeHooks({ tag }, data)` over HTTP). */
export const RESUME_BY_TAG_PATH = '/hooks/resume-by-tag';

/** Options of {@link workflowRouter}. */
export interface WorkflowRouterOptions {
  /** Path of the JSON resume route (`POST { token, data }` → `{ runId }`). Default `/hooks/resume`. */
  resumePath?: string;
  /**
   * The app's auth middleware (call `next()` to let the request through, or
   * answer 401/403), in front of the operator routes — `/runs...`, event
   * logs, the timeline, cancel and the inspector — and of the dashboard when
   * `dashboard.auth` is not given. Their responses include event logs
   * (payloads, and the tokens of live hooks, which let anyone resume them).
   * Without `auth` (and without `unsafeNoAuth: true`) the operator routes
   * answer 403 with a message saying so. The resume and webhook routes are
   * public by design (the token is the capability) and are not guarded.
   */
  auth?: RequestHandler;
  /**
   * Serve the operator routes with no authentication. Only for local
   * development; the router logs one warning line when it is built. It does
   * not open the dashboard, which can change queues: that takes `auth`,
   * `dashboard.auth` or its own `dashboard.unsafeNoAuth: true`.
   */
  unsafeNoAuth?: boolean;
  /** The run inspector page: `false` to leave it out. Default `{ path: '/inspector' }`. */
  inspector?: boolean | { path?: string };
  /** The BullMQ dashboard; mounted only behind `dashboard.auth` (default: `auth`) or with `dashboard.unsafeNoAuth: true`. */
  dashboard?: DashboardOptions;
  /** How long the webhook route waits for a `'manual'` response before answering 504 (ms). Default 30 000. */
  webhookResponseTimeoutMs?: number;
  /**
   * Where unexpected (500) errors and the start-up warnings about auth are
   * logged. Default: a JSON line on stderr. Never receives tokens, payloads,
   * URLs or error messages.
   */
  logger?: RouterLogger;
}

function checkPath(name: string, path: unknown): string {
  if (typeof path !== 'string' || !path.startsWith('/') || path.length > 256 || /[?#\s]/.test(path)) {
    throw new InvalidArgumentError(`workflowRouter({ ${name} }): use a path that starts with "/" (no query, fragment or spaces).`);
  }
  // '/admin/queues/' and '/admin/queues' are one mount point.
  return path.length > 1 ? path.replace(/\/+$/, '') : path;
}

function checkMiddleware(name: string, fn: unknown): void {
  if (fn !== undefined && typeof fn !== 'function') {
    throw new InvalidArgumentError(`workflowRouter({ ${name} }): pass an Express middleware (req, res, next) => ...`);
  }
}

/** The answer of the operator routes when the app gave no auth middleware. */
export const OPERATOR_ROUTES_NEED_AUTH =
  'workflowRouter: operator routes need an auth middleware: pass workflowRouter({ auth }) or unsafeNoAuth: true';

const denyOperatorRoutes: RequestHandler = (_req, res) => {
  res.status(403).json({ error: OPERATOR_ROUTES_NEED_AUTH });
};

/** The guard of the operator routes, after checking the auth options; warns (once, here) when they are open or closed. */
function operatorGuards(options: WorkflowRouterOptions, logger: RouterLogger): RequestHandler[] {
  checkMiddleware('auth', options.auth);
  const open = options.unsafeNoAuth;
  if (open !== undefined && typeof open !== 'boolean') {
    throw new InvalidArgumentError('workflowRouter({ unsafeNoAuth }): use true (serve operator routes without auth, local development only) or leave it out.');
  }
  if (options.auth && open) {
    throw new InvalidArgumentError('workflowRouter({ auth, unsafeNoAuth }): pass one of them — auth guards the operator routes, unsafeNoAuth: true serves them without it.');
  }
  if (options.auth) return [options.auth];
  if (open) {
    logger('warn', 'workflow-redis/express: unsafeNoAuth: true — the operator routes (runs, event logs with the tokens of live hooks, cancel, the inspector) are served without authentication; use it only in local development and pass workflowRouter({ auth }) in production');
    return [];
  }
  logger('warn', 'workflow-redis/express: the operator routes (runs, event logs, cancel, the inspector) are disabled and answer 403: no auth middleware was given; pass workflowRouter({ auth }), or unsafeNoAuth: true in local development');
  return [denyOperatorRoutes];
}

/**
 * An Express 5 router for workflow-redis. Mount it at the root or under a
 * prefix — `app.use('/wf', workflowRouter())` — every URL it builds (the
 * inspector's API calls, bull-board's assets) follows `req.baseUrl`. It
 * serves:
 *
 * - `POST /hooks/resume` — `{ token, data }` → `200 { runId }`; 400 for a
 *   missing or invalid token and malformed JSON, 404 `{ error: 'Hook not found' }`,
 *   413 for a payload over the limit.
 * - `ALL /.well-known/workflow/v1/webhook/:token` — resumes a webhook with the
 *   request and answers with the webhook's response (202, static or manual).
 *   The workflow gets the exact body bytes: mount the router before the app's
 *   body parsers, or give them `{ verify: keepRawBody }`. A body that a parser
 *   mounted earlier consumed without keeping its bytes is answered `500`
 *   (saying so; logged once) and nothing is delivered.
 * - `POST /hooks/resume-by-tag` — `{ tag, data, maxHooks? }` →
 *   `200 { resumed, hooks: [{ runId, hookId }] }`: `resumeHooks({ tag }, data)`,
 *   an operator route (behind `auth`); 400 for a bad tag, limit or body.
 * - `GET /runs`, `GET /runs/:runId`, `GET /runs/:runId/events`,
 *   `GET /runs/:runId/timeline`, `POST /runs/:runId/cancel`, and
 *   `GET /inspector` — the run inspector page: the operator routes, behind
 *   `auth`. Without `auth` they answer `403 { error }` (saying to pass
 *   `auth`), unless `unsafeNoAuth: true` serves them to anyone.
 * - the BullMQ dashboard at `/admin/queues`, only with `dashboard.auth`,
 *   `auth`, or `dashboard.unsafeNoAuth: true`; otherwise nothing is mounted
 *   there.
 *
 * Requests to other paths pass through to the app. Errors of these routes
 * are answered by one error middleware (see `mapError`): never a 500 for bad
 * input, never a stack.
 *
 * @example
 * ```ts
 * const app = express();
 * app.use(workflowRouter({ auth: requireOperator, dashboard: {} })); // the dashboard uses `auth` too
 * app.use(express.json()); // after the router, or express.json({ verify: keepRawBody })
 * // local development only:
 * app.use(workflowRouter({ unsafeNoAuth: true }));
 * ```
 */
export function workflowRouter(options: WorkflowRouterOptions = {}): Router {
  const resumePath = checkPath('resumePath', options.resumePath ?? DEFAULT_RESUME_PATH);
  checkMiddleware('dashboard.auth', options.dashboard?.auth);
  if (options.logger !== undefined && typeof options.logger !== 'function') {
    throw new InvalidArgumentError('workflowRouter({ logger }): pass a function (level, msg, fields) => void.');
  }
  const logger = options.logger ?? defaultRouterLogger;
  const wto = options.webhookResponseTimeoutMs;
  if (wto !== undefined && !(Number.isInteger(wto) && wto > 0)) {
    throw new InvalidArgumentError('workflowRouter({ webhookResponseTimeoutMs }): use a positive integer (milliseconds).');
  }
  const guards = operatorGuards(options, logger);

  const router = Router();
  mountHookRoutes(router, { resumePath, webhookResponseTimeoutMs: wto, resumeByTagPath: RESUME_BY_TAG_PATH, guards });
  mountRunRoutes(router, guards);

  let dashboardPath: string | undefined;
  const dashboardOptions = options.dashboard && { ...options.dashboard, auth: options.dashboard.auth ?? options.auth };
  const dashboard = dashboardHandlers(dashboardOptions);
  if (dashboard) {
    dashboardPath = checkPath('dashboard.path', options.dashboard?.path ?? DEFAULT_DASHBOARD_PATH);
    router.use(dashboardPath, ...dashboard);
    if (!dashboardOptions?.auth) {
      logger('warn', 'workflow-redis/express: dashboard.unsafeNoAuth: true — the BullMQ dashboard is served without authentication; use it only in local development');
    }
  } else if (options.dashboard) {
    logger('warn', 'workflow-redis/express: the dashboard is not mounted: pass workflowRouter({ auth }) or dashboard.auth, or dashboard.unsafeNoAuth: true in local development');
  }

  if (options.inspector !== false) {
    const cfg = typeof options.inspector === 'object' ? options.inspector : {};
    const inspectorPath = checkPath('inspector.path', cfg.path ?? DEFAULT_INSPECTOR_PATH);
    router.get(inspectorPath, ...guards, inspectorPage({ resumePath, dashboardPath }));
  }

  router.use(errorMiddleware(logger));
  return router;
}
