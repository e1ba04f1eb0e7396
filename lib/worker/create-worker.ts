/**
 * createWorker: BullMQ workers for workflow replays and for steps and timers,
 * in this process — two per workflow version it registers (that version's
 * queues), so it only ever takes jobs of runs it can run. Run it in any
 * number of processes against one Redis; each announces the versions it
 * registers (its presence), which is how a run says it waits for a worker.
 */
import { Worker } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Redis } from 'ioredis';
import { InvalidArgumentError, RedisUnavailableError } from '../errors/errors.js';
import type { Workflow } from '../authoring/registry.js';
import { checkLogger, checkLogLevel, resolveLogger, type LoggerOption, type LogLevelSetting } from '../log/logger.js';
import { OutageLog } from '../log/outage.js';
import { openConnection, type ConnectionInput } from '../redis/connection.js';
import { clientAddress, connectTimeoutProblem, DEFAULT_CONNECT_TIMEOUT_MS, waitUntilReady } from '../redis/ready.js';
import { routeId, type Route } from '../domain/route.js';
import { QUEUE_NAMES } from '../redis/keys.js';
import { Store } from '../redis/store.js';
import { PRESENCE_INTERVAL_MS } from '../redis/store-types.js';
import { installDeterminism } from '../replay/determinism.js';
import { setWebhookResponder } from '../webhooks/http-codec.js';
import { CommitBatcher } from './commit-batcher.js';
import type { ReplayContext } from './context.js';
import { ExecutionCache } from './execution-cache.js';
import { reconcile, startReconciler, type ReconcileReport } from './reconciler.js';
import { processReplayJob } from './replay-job.js';
import { processStepQueueJob } from './step-job.js';

/** Default of {@link WorkerOptions.commitWindowMs}. */
export const DEFAULT_COMMIT_WINDOW_MS = 100;

/**
 * A log sink: a function `(level, msg, fields) => void`, or a structured
 * logger with pino's signature (a pino instance). Fields never contain hook
 * tokens or payloads.
 */
export type WorkerLogger = LoggerOption;

/** Options of {@link createWorker}. */
export interface WorkerOptions {
  /**
   * The workflows this worker runs, each a version from defineWorkflow (several
   * versions of one workflow may be listed). The worker consumes only their
   * queues. Steps register themselves when their module is imported.
   */
  workflows: Workflow[];
  /** Jobs processed at once per queue: each workflow version has a replay queue and a step queue. Default 10. */
  concurrency?: number;
  /** Redis: URL, ioredis options or instance. Default `REDIS_URL` or `redis://127.0.0.1:6379`. */
  connection?: ConnectionInput;
  /** Key prefix. Default `wf`. */
  prefix?: string;
  /** BullMQ lock and replay lease duration; a dead worker's jobs are picked up after about this long. Default 30 s. */
  lockDurationMs?: number;
  /** Largest batch of new steps run inline in the replay job; bigger batches go to the step queue. Default 1. */
  inlineSteps?: number;
  /**
   * Inline steps the workflow calls within this many ms of its last commit run
   * at once, and their start and result are recorded together in one later
   * commit (a step still running when the window closes has its start recorded
   * then). A crash inside the window re-runs them: steps run at least once,
   * their results are recorded exactly once. 0 records each step's start
   * before it runs (one more commit per step). Default 100.
   */
  commitWindowMs?: number;
  /** Period of the reconciler (0 = only at start). Default 60 s. */
  reconcileIntervalMs?: number;
  /** Suspended runs kept warm in memory. Default 1000. */
  cacheSize?: number;
  /** Base URL for webhook URLs. Default `http://localhost:${PORT ?? 3000}`. */
  publicUrl?: string;
  /**
   * Log sink. Lifecycle lines at 'info' (run started, completed, cancelled;
   * step retrying), failures at 'warn' (run failed, step failed, with the
   * error's name and message), each replay at 'debug'; Redis outages at
   * 'error'. Default: a pino logger writing JSON lines on stderr.
   */
  logger?: WorkerLogger;
  /**
   * Lowest level logged: 'debug', 'info', 'warn', 'error' or 'silent'.
   * Default: `WORKFLOW_REDIS_LOG_LEVEL`, else 'info'. Filters the default
   * logger and a function logger; a pino instance also applies its own level.
   */
  logLevel?: LogLevelSetting;
  /**
   * How long to wait for Redis at start-up before saying so (ms): one error
   * line naming the address, then (with `waitForRedis`) the worker retries
   * quietly. Default {@link DEFAULT_CONNECT_TIMEOUT_MS} (3 s).
   */
  connectTimeoutMs?: number;
  /**
   * When Redis cannot be reached within `connectTimeoutMs`: `true` (default)
   * logs it once and keeps retrying (a reminder per minute), resolving once
   * Redis is there; `false` rejects with RedisUnavailableError (a process that
   * should exit non-zero, like the CLI).
   */
  waitForRedis?: boolean;
}

/** A running worker. */
export interface WorkflowWorker {
  readonly id: string;
  /** The store it uses (tests, tools). */
  readonly store: Store;
  /** Runs the reconciler once now. */
  reconcile(): Promise<ReconcileReport>;
  /** Stops taking jobs, waits for active ones, closes connections. */
  close(): Promise<void>;
  /** Counters: replays (warm/cold), steps. */
  readonly stats: { replays: number; warmReplays: number; stepJobs: number };
  /** The workflow versions it registers, as `name@version`. */
  readonly routes: readonly string[];
}

/**
 * The worker's first connection: within `timeoutMs`, or one error line naming
 * the address, then either quiet retries until Redis is there (`wait`) or
 * RedisUnavailableError.
 */
async function connectFirst(client: Redis, outages: OutageLog, timeoutMs: number, wait: boolean): Promise<void> {
  try {
    await waitUntilReady(client, { timeoutMs });
    return;
  } catch (err) {
    if (!RedisUnavailableError.is(err) || !wait || client.status === 'end') throw err;
    outages.unreachable(err, 'Retrying quietly until it is (one line per minute); the worker starts then.');
  }
  // Count the retries' errors in the episode (and keep ioredis from printing them) until connected.
  const onError = (e: unknown) => outages.error('redis', e);
  let onReady = () => undefined as void;
  let onEnd = () => undefined as void;
  client.on('error', onError);
  try {
    await new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onEnd = () => reject(new RedisUnavailableError(clientAddress(client), 'the connection ended (its retryStrategy gave up)', timeoutMs));
      client.once('ready', onReady);
      client.once('end', onEnd);
    });
  } finally {
    client.off('error', onError);
    client.off('ready', onReady);
    client.off('end', onEnd);
  }
  outages.recovered();
}

/** Starts workers for workflow replays and steps; resolves once they are running. */
export async function createWorker(opts: WorkerOptions): Promise<WorkflowWorker> {
  if (!opts || !Array.isArray(opts.workflows)) {
    throw new InvalidArgumentError('createWorker({ workflows }): pass the workflows returned by defineWorkflow().');
  }
  const routes = new Map<string, Route>();
  for (const wf of opts.workflows) {
    if (!wf || typeof wf.workflowName !== 'string' || typeof wf.version !== 'string') {
      throw new InvalidArgumentError('createWorker: every entry of workflows must come from defineWorkflow().');
    }
    routes.set(routeId(wf), { workflowName: wf.workflowName, version: wf.version });
  }
  const concurrency = opts.concurrency ?? 10;
  const lockDuration = opts.lockDurationMs ?? 30_000;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new InvalidArgumentError('concurrency must be an integer >= 1.');
  if (!Number.isInteger(lockDuration) || lockDuration < 1000) throw new InvalidArgumentError('lockDurationMs must be an integer >= 1000.');
  const commitWindowMs = opts.commitWindowMs ?? DEFAULT_COMMIT_WINDOW_MS;
  if (typeof commitWindowMs !== 'number' || !Number.isFinite(commitWindowMs) || commitWindowMs < 0 || commitWindowMs >= lockDuration / 3) {
    throw new InvalidArgumentError(
      `commitWindowMs must be a number of ms >= 0 and below a third of lockDurationMs (${lockDuration} ms), got ${String(opts.commitWindowMs)}; 0 records each step's start before it runs.`,
    );
  }
  checkLogger(opts.logger);
  checkLogLevel(opts.logLevel);
  const timeoutProblem = connectTimeoutProblem(opts.connectTimeoutMs);
  if (timeoutProblem) throw new InvalidArgumentError(timeoutProblem);
  if (opts.waitForRedis !== undefined && typeof opts.waitForRedis !== 'boolean') throw new InvalidArgumentError('waitForRedis must be true or false.');
  installDeterminism();

  const log = resolveLogger(opts.logger, opts.logLevel);
  const client = openConnection(opts.connection, { blocking: true, name: 'workflow-redis-worker' }) as Redis;
  // Redis errors of the client, the queues and the workers: one line per outage, not per retry.
  const outages = new OutageLog(log, 'worker');
  let store: Store;
  try {
    await connectFirst(client, outages, opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS, opts.waitForRedis !== false);
    store = await Store.open({ client, prefix: opts.prefix, outages });
  } catch (err) {
    client.disconnect();
    throw err;
  }
  setWebhookResponder((responseId, response) => store.pushWebhookResponse(responseId, response));
  const id = `w-${randomUUID().slice(0, 8)}`;
  const stats = { replays: 0, warmReplays: 0, stepJobs: 0 };
  let closingFlag = false;
  const base: Omit<ReplayContext, 'route'> = {
    store,
    commits: new CommitBatcher(store),
    cache: new ExecutionCache(opts.cacheSize ?? 1000),
    workerId: id,
    leaseMs: lockDuration,
    inlineLimit: opts.inlineSteps ?? 1,
    commitWindowMs,
    publicUrl: opts.publicUrl ?? `http://localhost:${process.env.PORT ?? 3000}`,
    log,
    isClosing: () => closingFlag,
    onReplay: (info) => {
      stats.replays++;
      if (info.warm) stats.warmReplays++;
    },
  };
  const workerOpts = {
    connection: client,
    prefix: store.keys.bullPrefix,
    concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    maxStalledCount: 10,
    autorun: false,
  };
  const workers: Worker[] = [];
  for (const route of routes.values()) {
    const ctx: ReplayContext = { ...base, route };
    workers.push(
      new Worker(QUEUE_NAMES.replays(route), (job, token) => processReplayJob(ctx, job, token), workerOpts),
      new Worker(
        QUEUE_NAMES.steps(route),
        async (job, token) => {
          stats.stepJobs++;
          await processStepQueueJob(ctx, job, token);
        },
        workerOpts,
      ),
    );
  }
  for (const w of workers) {
    outages.watch(w, `${w.name} worker`);
    w.on('failed', (job, err) => log('warn', 'job failed', { queue: w.name, jobId: job?.id, runId: job?.data?.runId, error: err.message }));
    void w.run();
  }
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  // Presence: which versions live workers register (a run of another one says it waits for a worker).
  const routeIds = [...routes.keys()];
  const presence = { workerId: id, routes: routeIds, host: hostname(), pid: process.pid, startedAt: Date.now() };
  const announce = () => store.announceWorker(presence).catch((err) => outages.error('redis', err));
  await announce();
  const heartbeat = setInterval(announce, PRESENCE_INTERVAL_MS);
  heartbeat.unref();

  // Re-schedule runs left running with nothing queued (a crash between a commit and an add).
  await reconcile(store).catch((err) => log('error', 'reconcile failed', { error: (err as Error).message }));
  const stopReconciler = opts.reconcileIntervalMs === 0
    ? () => undefined
    : startReconciler(store, opts.reconcileIntervalMs ?? 60_000, (err) => log('error', 'reconcile failed', { error: (err as Error).message }));

  let closing: Promise<void> | undefined;
  return {
    id,
    store,
    stats,
    routes: routeIds,
    reconcile: () => reconcile(store),
    close() {
      closing ??= (async () => {
        closingFlag = true;
        stopReconciler();
        clearInterval(heartbeat);
        await Promise.all(workers.map((w) => w.close()));
        await store.withdrawWorker(id).catch(() => undefined);
        await store.close();
        client.disconnect();
      })();
      return closing;
    },
  };
}
