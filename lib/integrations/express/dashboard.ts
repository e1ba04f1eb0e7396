/**
 * The BullMQ dashboard (bull-board) over the runtime's two queues.
 *
 * bull-board renders its asset and API URLs from a base path fixed when its
 * adapter is built, but the router does not know where the app mounts it
 * (`app.use('/wf', workflowRouter())`). So boards are built lazily, on the
 * first request, with `req.baseUrl` — the full path up to and including the
 * dashboard path — and one board is kept per base URL. The queues come from
 * the runtime (`getQueues()`), which opens its store on the first request,
 * once `configure()` has run; a later `configure()` (new queues) rebuilds the board.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { getQueues } from '../../runtime/config.js';

/** Options of the dashboard route. */
export interface DashboardOptions {
  /** Where the dashboard is served, relative to the router. Default `/admin/queues`. */
  path?: string;
  /**
   * Express middleware that authenticates operators (call `next()` to let the
   * request through, or answer 401/403). Default: the router's `auth`.
   * Without either — and without `unsafeNoAuth: true` — the dashboard is not
   * mounted at all (and the router logs a warning saying so).
   */
  auth?: RequestHandler;
  /**
   * Mount the dashboard with no authentication. Only for local development
   * (the router logs a warning). The router's own `unsafeNoAuth` does not
   * imply it: the dashboard can change queues (retry, clean, pause...).
   */
  unsafeNoAuth?: boolean;
  /** Hide bull-board's buttons that change queues (retry, clean, pause...). Default false. */
  readOnly?: boolean;
  /**
   * The dashboard's public path, when a reverse proxy rewrites paths so that
   * `req.baseUrl` is not what the browser sees (e.g. `/ops/admin/queues`).
   * Default: computed from each request's `req.baseUrl`.
   */
  publicPath?: string;
}

/** Default dashboard path. */
export const DEFAULT_DASHBOARD_PATH = '/admin/queues';

/** Distinct base URLs kept; more only happens with a parameterised mount path, and the oldest is rebuilt on demand. */
const MAX_BOARDS = 16;

type Queues = Awaited<ReturnType<typeof getQueues>>;

interface Board {
  queues: Queues;
  app: ReturnType<ExpressAdapter['getRouter']>;
}

function buildBoard(queues: Queues, basePath: string, readOnly: boolean): Board {
  const serverAdapter = new ExpressAdapter().setBasePath(basePath);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q, { readOnlyMode: readOnly })),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'workflow-redis' } },
  });
  return { queues, app: serverAdapter.getRouter() };
}

/**
 * The dashboard middleware chain to mount at the dashboard path, or
 * undefined when it must not be mounted (no `auth` and no `unsafeNoAuth`).
 */
export function dashboardHandlers(opts: DashboardOptions | undefined): RequestHandler[] | undefined {
  if (!opts) return undefined;
  const guard = opts.auth ?? (opts.unsafeNoAuth === true ? undefined : null);
  if (guard === null) return undefined;
  const readOnly = opts.readOnly === true;
  const boards = new Map<string, Board>();

  const serve: RequestHandler = async (req: Request, res: Response, next: NextFunction) => {
    const queues = await getQueues();
    const basePath = opts.publicPath ?? req.baseUrl;
    let board = boards.get(basePath);
    if (!board || board.queues !== queues) {
      board = buildBoard(queues, basePath, readOnly);
      boards.delete(basePath);
      if (boards.size >= MAX_BOARDS) boards.delete(boards.keys().next().value!);
      boards.set(basePath, board);
    }
    // Running a sub-app re-parents req/res onto its prototypes; restore ours if it
    // passes the request on (what app.use(subApp) does for mounted apps).
    const reqProto = Object.getPrototypeOf(req) as object;
    const resProto = Object.getPrototypeOf(res) as object;
    board.app(req, res, (err?: unknown) => {
      Object.setPrototypeOf(req, reqProto);
      Object.setPrototypeOf(res, resProto);
      next(err);
    });
  };
  return guard ? [guard, serve] : [serve];
}
