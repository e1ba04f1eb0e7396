/**
 * What every part of the official-SDK World shares: its configuration, its
 * command connection, its keyspace and script runner, and the connections it
 * opens (all closed by `world.close()`).
 *
 * Official runs live under their own prefix (default `wdk`), a keyspace of the
 * same layout as the native engine's: native workers and the native reconciler
 * never see them, and their Lua transitions are the World's own entry scripts
 * over the shared includes.
 */
import type { Redis, Cluster, RedisOptions } from 'ioredis';
import { openConnection, type ConnectionInput } from '../redis/connection.js';
import { createKeyspace, type Keyspace } from '../redis/keys.js';
import { ScriptRunner, WORLD_SCRIPT_NAMES } from '../redis/scripts.js';
import { prefixProblem } from '../domain/prefix.js';
import { InvalidArgumentError } from '../errors/errors.js';
import type { ReplayJobTemplate } from '../queue/bullmq-contract.js';
import { resolveLogger, type Logger, type LoggerOption } from '../log/logger.js';

/** Options of {@link createWorld}. Every field may also come from the environment. */
export interface WorldConfig {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, ioredis options or an
   * ioredis instance (duplicated, never closed by the World). Default:
   * `WORKFLOW_REDIS_URL`, else `REDIS_URL`, else `redis://127.0.0.1:6379`.
   */
  redis?: string | RedisOptions | Redis;
  /** Key prefix of the World's runs (default `WORKFLOW_REDIS_PREFIX` or `wdk`): never a native engine's prefix. */
  prefix?: string;
  /**
   * Where queue messages are delivered: the app's origin, e.g.
   * `http://127.0.0.1:3000`; the runtime's routes are under
   * `/.well-known/workflow/v1/`. Default `WORKFLOW_REDIS_BASE_URL`, else
   * `http://localhost:$PORT` (PORT read at delivery time).
   */
  baseUrl?: string;
  /** Queue messages delivered at once per kind by this process (default 50). */
  concurrency?: number;
  /** The deployment id `getDeploymentId()` answers (default `WORKFLOW_REDIS_DEPLOYMENT_ID` or `redis`). */
  deploymentId?: string;
  /** `start()` re-enqueues every pending and running run, as the official worlds do (default true). */
  recoverActiveRuns?: boolean;
  /** Where the World logs (default: JSON lines, level from `WORKFLOW_REDIS_LOG_LEVEL`); never payloads or tokens. */
  logger?: LoggerOption;
}

/** A {@link WorldConfig} with every default applied. */
export interface ResolvedWorldConfig {
  redis: ConnectionInput;
  prefix: string;
  baseUrl: string | undefined;
  concurrency: number;
  deploymentId: string;
  recoverActiveRuns: boolean;
  logger: Logger;
}

/** Applies the defaults and checks the options; InvalidArgumentError says what to fix. */
export function resolveWorldConfig(config: WorldConfig = {}, env: NodeJS.ProcessEnv = process.env): ResolvedWorldConfig {
  if (config === null || typeof config !== 'object') throw new InvalidArgumentError('createWorld(config): pass an object of options, or nothing.');
  const prefix = config.prefix ?? env.WORKFLOW_REDIS_PREFIX ?? 'wdk';
  const problem = prefixProblem(prefix);
  if (problem) throw new InvalidArgumentError(`createWorld({ prefix }): ${problem}`);
  const concurrency = config.concurrency ?? 50;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 10_000) {
    throw new InvalidArgumentError(`createWorld({ concurrency }): use an integer from 1 to 10000, got ${String(concurrency)}.`);
  }
  const baseUrl = config.baseUrl ?? env.WORKFLOW_REDIS_BASE_URL;
  if (baseUrl !== undefined && !/^https?:\/\/[^/]+/.test(baseUrl)) {
    throw new InvalidArgumentError(`createWorld({ baseUrl }): use the app's origin, e.g. http://127.0.0.1:3000, got ${JSON.stringify(baseUrl)}.`);
  }
  const deploymentId = config.deploymentId ?? env.WORKFLOW_REDIS_DEPLOYMENT_ID ?? 'redis';
  if (typeof deploymentId !== 'string' || deploymentId === '') throw new InvalidArgumentError('createWorld({ deploymentId }): use a non-empty string.');
  return {
    redis: config.redis ?? env.WORKFLOW_REDIS_URL ?? env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    prefix,
    baseUrl: baseUrl?.replace(/\/+$/, ''),
    concurrency,
    deploymentId,
    recoverActiveRuns: config.recoverActiveRuns ?? true,
    logger: resolveLogger(config.logger),
  };
}

/** The World's scripts never enqueue a native replay: they are built without a job template. */
const NO_REPLAY_JOB = undefined as unknown as ReplayJobTemplate;

/** The shared state of one World instance. */
export class WorldContext {
  /** The command connection (scripts, reads, BullMQ producers). */
  readonly redis: Redis;
  readonly keys: Keyspace;
  readonly scripts: ScriptRunner;
  private readonly opened: (Redis | Cluster)[] = [];

  constructor(readonly config: ResolvedWorldConfig) {
    this.keys = createKeyspace(config.prefix);
    this.redis = this.open('wdk-commands') as Redis;
    this.scripts = new ScriptRunner(this.redis, NO_REPLAY_JOB, this.keys.hookKeys(), WORLD_SCRIPT_NAMES);
  }

  /** Opens another connection to the World's Redis (closed with the World). `blocking`: for BullMQ workers and blocking reads. */
  open(name: string, blocking = false): Redis | Cluster {
    const c = openConnection(this.config.redis, { blocking, name });
    this.opened.push(c);
    return c;
  }

  /** Closes every connection the World opened. */
  async close(): Promise<void> {
    await Promise.all(this.opened.splice(0).map((c) => c.quit().catch(() => c.disconnect())));
  }
}
