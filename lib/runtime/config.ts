/**
 * Process-wide configuration of the runtime API (`configure`) and the lazily
 * opened store it uses.
 */
import type { Queue } from 'bullmq';
import { parseRouteId, routeId } from '../domain/route.js';
import ms from 'ms';
import { prefixProblem } from '../domain/prefix.js';
import { InvalidArgumentError, RedisUnavailableError } from '../errors/errors.js';
import { checkLogger, checkLogLevel, resolveLogger, type LoggerOption, type LogLevelSetting } from '../log/logger.js';
import { OutageLog } from '../log/outage.js';
import { openConnection, type ConnectionInput } from '../redis/connection.js';
import { connectTimeoutProblem, DEFAULT_CONNECT_TIMEOUT_MS, waitUntilReady } from '../redis/ready.js';
import { DEFAULT_MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_DEPTH_LIMIT } from '../serialization/codec.js';
import { Store } from '../redis/store.js';
import { RunWatcher } from './run-watcher.js';
import { StreamMux } from './stream-reader.js';
import { ResponseWaiter } from './webhook-waiter.js';

/** Options of {@link configure}. */
export interface WorkflowConfig {
  /** Redis: URL, ioredis options or instance. Default: `REDIS_URL` or `redis://127.0.0.1:6379`. */
  connection?: ConnectionInput;
  /** Key prefix; isolates tenants and environments. Default `wf`. */
  prefix?: string;
  /** Largest serialised hook payload or workflow input, in bytes. Default 1 MiB. */
  maxPayloadBytes?: number;
  /**
   * Deepest hook payload or workflow argument accepted (resumeHook, webhooks,
   * start); deeper is refused with SerializationError and nothing is written.
   * Depth counts containers: a scalar, Date, BigInt... is 0, `[]` and `{}`
   * are 1, each array, object, Set, Error or class instance around a value
   * adds 1, a Map adds 2 (it is stored as `[key, value]` pairs).
   * An integer from 1 to {@link MAX_PAYLOAD_DEPTH_LIMIT} (256). Default
   * {@link DEFAULT_MAX_PAYLOAD_DEPTH} (128): deeper than any real document,
   * and far below what a default Node stack takes when values are serialised.
   * Values the engine serialises itself (step arguments and results, run
   * outputs) may be 32 levels deeper than the largest allowed setting
   * (288, whatever this setting), so workflow code can wrap a payload and pass it on.
   */
  maxPayloadDepth?: number;
  /** Public base URL used to build webhook URLs. Default `http://localhost:${PORT ?? 3000}`. */
  publicUrl?: string;
  /**
   * How long a finished run (its event log, record, step and hook state) is
   * kept after it ends: `'30d'`, `'12h'` or milliseconds. Applies to the runs
   * `start()` creates from then on. Default: kept until deleted.
   */
  retention?: string | number;
  /**
   * Where the runtime API's own output goes: Redis outages (one line when one
   * starts, one when it ends) and an unreachable Redis. A function
   * `(level, msg, fields) => void`, or a structured logger with pino's
   * signature (a pino instance). Default: a pino logger writing JSON lines on
   * stderr. Never receives tokens or payloads.
   */
  logger?: LoggerOption;
  /**
   * Lowest level logged: 'debug', 'info', 'warn', 'error' or 'silent'.
   * Default: `WORKFLOW_REDIS_LOG_LEVEL`, else 'info'. Filters the default
   * logger and a function logger; a pino instance also applies its own level.
   */
  logLevel?: LogLevelSetting;
  /**
   * How long the first call waits for Redis to connect (ms) before it rejects
   * with RedisUnavailableError (logged once, naming the address). The next
   * call tries again. Default {@link DEFAULT_CONNECT_TIMEOUT_MS} (3 s).
   */
  connectTimeoutMs?: number;
}

/** Default payload limit: 1 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024;

export { DEFAULT_MAX_PAYLOAD_DEPTH, MAX_PAYLOAD_DEPTH_LIMIT, DEFAULT_CONNECT_TIMEOUT_MS };

interface Runtime {
  config: Required<Pick<WorkflowConfig, 'prefix' | 'maxPayloadBytes' | 'maxPayloadDepth'>> & WorkflowConfig;
  store?: Promise<Store>;
  /** The opened store, once `store` has resolved (lets hot paths skip an await). */
  ready?: Store;
  watcher?: RunWatcher;
  responses?: ResponseWaiter;
  streams?: StreamMux;
  ownsClient: boolean;
  /** Outages and failed first connections, in the configured log (made on first use). */
  outages?: OutageLog;
}

const DEFAULTS = { prefix: 'wf', maxPayloadBytes: DEFAULT_MAX_PAYLOAD_BYTES, maxPayloadDepth: DEFAULT_MAX_PAYLOAD_DEPTH };

let runtime: Runtime = { config: { ...DEFAULTS }, ownsClient: true };

function checkConfig(cfg: WorkflowConfig): void {
  const badPrefix = cfg.prefix === undefined ? undefined : prefixProblem(cfg.prefix);
  if (badPrefix) throw new InvalidArgumentError(badPrefix);
  if (cfg.maxPayloadBytes !== undefined && !(Number.isInteger(cfg.maxPayloadBytes) && cfg.maxPayloadBytes > 0)) {
    throw new InvalidArgumentError('maxPayloadBytes must be a positive integer (bytes).');
  }
  const depth = cfg.maxPayloadDepth;
  if (depth !== undefined && !(Number.isInteger(depth) && depth >= 1 && depth <= MAX_PAYLOAD_DEPTH_LIMIT)) {
    throw new InvalidArgumentError(
      `maxPayloadDepth must be an integer from 1 to ${MAX_PAYLOAD_DEPTH_LIMIT} (levels of nesting; default ${DEFAULT_MAX_PAYLOAD_DEPTH}).`,
    );
  }
  if (cfg.retention !== undefined) retentionMs(cfg.retention);
  checkLogger(cfg.logger);
  checkLogLevel(cfg.logLevel);
  const timeout = connectTimeoutProblem(cfg.connectTimeoutMs);
  if (timeout) throw new InvalidArgumentError(timeout);
}

/** Longest retention (100 years): Redis refuses expiry times much further out. */
const MAX_RETENTION_MS = 100 * 365 * 24 * 3600 * 1000;

/** A retention setting in ms; throws InvalidArgumentError for anything but a positive duration. */
export function retentionMs(retention: string | number): number {
  let v: unknown = NaN;
  try {
    v = typeof retention === 'number' ? retention : typeof retention === 'string' ? ms(retention as ms.StringValue) : NaN;
  } catch {
    /* ms() throws on an empty string: reported below */
  }
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1000 || v > MAX_RETENTION_MS) {
    throw new InvalidArgumentError(
      `Invalid retention ${JSON.stringify(retention)}: use a duration from one second to 100 years, like '30d', '12h' or 86400000 (ms).`,
    );
  }
  return v;
}

/**
 * Sets the Redis connection, key prefix and limits of the runtime API
 * (`start`, `resumeHook`, `getRun`...). Call it before the first call; calling
 * it again closes the previous connection.
 */
export function configure(cfg: WorkflowConfig = {}): void {
  checkConfig(cfg);
  const previous = runtime;
  runtime = {
    config: {
      ...cfg,
      prefix: cfg.prefix ?? DEFAULTS.prefix,
      maxPayloadBytes: cfg.maxPayloadBytes ?? DEFAULTS.maxPayloadBytes,
      maxPayloadDepth: cfg.maxPayloadDepth ?? DEFAULTS.maxPayloadDepth,
    },
    ownsClient: true,
  };
  void closeRuntime(previous);
}

function outagesOf(rt: Runtime): OutageLog {
  rt.outages ??= new OutageLog(resolveLogger(rt.config.logger, rt.config.logLevel), 'workflow-redis');
  return rt.outages;
}

/** The current configuration. */
export function getConfig(): Runtime['config'] {
  return runtime.config;
}

/** The store of the current configuration (opened on first use). */
export function getStore(): Promise<Store> {
  const rt = runtime;
  rt.store ??= (async () => {
    const client = openConnection(rt.config.connection, { name: 'workflow-redis' });
    const outages = outagesOf(rt);
    try {
      // The first connection has a deadline: without Redis, calls fail in seconds with one log line,
      // instead of waiting in the offline queue while the client retries.
      await waitUntilReady(client, { timeoutMs: rt.config.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
    } catch (err) {
      client.disconnect();
      rt.store = undefined;
      if (RedisUnavailableError.is(err)) outages.unreachable(err, 'Calls of the runtime API fail with RedisUnavailableError meanwhile; each one tries to connect again.');
      throw err;
    }
    outages.recovered();
    try {
      rt.ready = await Store.open({ client, prefix: rt.config.prefix, outages });
      return rt.ready;
    } catch (err) {
      client.disconnect();
      rt.store = undefined;
      throw err;
    }
  })();
  return rt.store;
}

/** The queue list handed out by {@link getQueues}, per store, with the routes it was built from. */
const queueLists = new WeakMap<Store, { routes: string; queues: readonly Queue[] }>();

/**
 * The BullMQ queues of the current configuration — for each route (workflow
 * version) that has runs or workers, its replay queue then its step queue —
 * for dashboards and operators' tools; opens the store on first use. The same
 * array while the store and the set of routes stay the same; a new route or a
 * new `configure()` gives a new one. Never add jobs to them by hand: the
 * runtime API does.
 */
export async function getQueues(): Promise<readonly Queue[]> {
  const store = await getStore();
  const routes = (await store.knownRoutes()).map(parseRouteId).filter((r) => r !== undefined);
  const id = routes.map(routeId).join('\n');
  const cached = queueLists.get(store);
  if (cached && cached.routes === id) return cached.queues;
  const queues = Object.freeze(routes.flatMap((r) => {
    const q = store.queues(r);
    return [q.replays, q.steps];
  }));
  queueLists.set(store, { routes: id, queues });
  return queues;
}

/** The store if it is already open (hot paths), else undefined. */
export function openedStore(): Store | undefined {
  return runtime.ready;
}

/** The readers of run streams (one blocking connection per process, opened while a stream is read). */
export function getStreamMux(): StreamMux {
  runtime.streams ??= new StreamMux(getStore);
  return runtime.streams;
}

/** The run-completion watcher (one pub/sub connection per process). */
export async function getWatcher(): Promise<RunWatcher> {
  const store = await getStore();
  runtime.watcher ??= new RunWatcher(store);
  return runtime.watcher;
}

/** The waiter of manual webhook responses (one pub/sub connection per process). */
export async function getResponseWaiter(): Promise<ResponseWaiter> {
  const store = await getStore();
  runtime.responses ??= new ResponseWaiter(store);
  return runtime.responses;
}

async function closeRuntime(rt: Runtime): Promise<void> {
  const store = await rt.store?.catch(() => undefined);
  await rt.watcher?.close();
  await rt.responses?.close();
  await rt.streams?.close();
  if (store) {
    await store.close();
    if (rt.ownsClient) store.client.disconnect();
  }
}

/** Closes the runtime API's connections (for graceful shutdown and tests). */
export async function closeWorkflowClient(): Promise<void> {
  const rt = runtime;
  runtime = { config: rt.config, ownsClient: true, outages: rt.outages };
  await closeRuntime(rt);
}
