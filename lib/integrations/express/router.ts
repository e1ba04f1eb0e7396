/**
 * `workflowRouter()`: one Express 5 router with the resume route of the seed
 * page, the webhook route, run routes, the run inspector and — only behind
 * the app's auth middleware or an explicit opt-out — the BullMQ dashboard.
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

/** Options of {@link workflowRouter}. */
export interface WorkflowRouterOptions {
  /** Path of the JSON resume route (`POST { token, data }` → `{ runId }`). Default `/hooks/resume`. */
  resumePath?: string;
  /**
   * Guards the operator routes — `/runs...` and the inspector — with the
   * app's auth middleware. Their responses include event logs (payloads, and
   * the tokens of live hooks, which let anyone resume them): pass one in
   * production. The resume and webhook routes are public by design and are
   * not guarded.
   */
  auth?: RequestHandler;
  /** The run inspector page: `false` to leave it out. Default `{ path: '/inspector' }`. */
  inspector?: boolean | { path?: string };
  /** The BullMQ dashboard; mounted only with `auth` or `unsafeNoAuth: true`. */
  dashboard?: DashboardOptions;
  /** How long the webhook route waits for a `'manual'` response before answering 504 (ms). Default 30 000. */
  webhookResponseTimeoutMs?: number;
  /** Where unexpected (500) errors are logged. Default: a JSON line on stderr. Never receives tokens or payloads. */
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
 * - `GET /runs`, `GET /runs/:runId`, `GET /runs/:runId/events`,
 *   `GET /runs/:runId/timeline`, `POST /runs/:runId/cancel` (behind `auth`).
 * - `GET /inspector` — the run inspector page (behind `auth`).
 * - the BullMQ dashboard at `/admin/queues`, only with `dashboard.auth` or
 *   `dashboard.unsafeNoAuth: true`; otherwise nothing is mounted there.
 *
 * Requests to other paths pass through to the app. Errors of these routes
 * are answered by one error middleware (see `mapError`): never a 500 for bad
 * input, never a stack.
 *
 * @example
 * ```ts
 * const app = express();
 * app.use(workflowRouter({ auth: requireOperator, dashboard: { auth: requireOperator } }));
 * ```
 */
export function workflowRouter(options: WorkflowRouterOptions = {}): Router {
  const resumePath = checkPath('resumePath', options.resumePath ?? DEFAULT_RESUME_PATH);
  checkMiddleware('auth', options.auth);
  checkMiddleware('dashboard.auth', options.dashboard?.auth);
  const wto = options.webhookResponseTimeoutMs;
  if (wto !== undefined && !(Number.isInteger(wto) && wto > 0)) {
    throw new InvalidArgumentError('workflowRouter({ webhookResponseTimeoutMs }): use a positive integer (milliseconds).');
  }
  const guards = options.auth ? [options.auth] : [];

  const router = Router();
  mountHookRoutes(router, { resumePath, webhookResponseTimeoutMs: wto });
  mountRunRoutes(router, guards);

  let dashboardPath: string | undefined;
  const dashboard = dashboardHandlers(options.dashboard);
  if (dashboard) {
    dashboardPath = checkPath('dashboard.path', options.dashboard?.path ?? DEFAULT_DASHBOARD_PATH);
    router.use(dashboardPath, ...dashboard);
  }

  if (options.inspector !== false) {
    const cfg = typeof options.inspector === 'object' ? options.inspector : {};
    const inspectorPath = checkPath('inspector.path', cfg.path ?? DEFAULT_INSPECTOR_PATH);
    router.get(inspectorPath, ...guards, inspectorPage({ resumePath, dashboardPath }));
  }

  router.use(errorMiddleware(options.logger ?? defaultRouterLogger));
  return router;
}
