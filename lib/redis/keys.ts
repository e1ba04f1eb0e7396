/**
 * The one module that builds Redis key names. No other file, TypeScript or Lua,
 * writes a key string: Lua receives keys through KEYS, or, where a script must
 * reach a run it only learns about from data (a token lookup), through a
 * template built here (see {@link Keyspace.runTemplates}).
 *
 * Every key of a prefix carries the same hash tag (`{wf}`), so every multi-key
 * script is valid on Redis Cluster; the BullMQ queues use the tag as their prefix.
 */
import { RUN_STATUSES, type RunStatus } from '../domain/run-status.js';
import { prefixProblem } from '../domain/prefix.js';
import { routeId, type Route } from '../domain/route.js';

/** Placeholder that stands for a run id inside a key template. Run ids never contain NUL. */
export const RUN_ID_SLOT = '\u0000';

/**
 * Names of the BullMQ queues (inside the tagged prefix): two per workflow
 * route, so that only a worker that registers `name@version` takes its jobs
 * and bull-board lists them by name — `workflows/<name>@<version>` (replays)
 * and `steps/<name>@<version>` (step deliveries and sleep timers). BullMQ
 * refuses `:` in a queue name, which workflow names may hold: it is written
 * `%3A` (`%` is not a name character, so the spelling is unambiguous).
 */
export const QUEUE_NAMES = {
  replays: (r: Route) => `workflows/${queueSafe(routeId(r))}`,
  steps: (r: Route) => `steps/${queueSafe(routeId(r))}`,
} as const;

/**
 * BullMQ queues of the official-SDK World (lib/world): the official runtime's
 * queue messages (`__wkf_workflow_*`, `__wkf_step_*`), one queue per kind, in
 * the World's own prefix, never a native route's queue.
 */
export const WORLD_QUEUE_NAMES = { workflow: 'wdk-workflow', step: 'wdk-step' } as const;

/** Stands for the queue name in the replay job template the scripts fill in (lib/queue/bullmq-contract.ts). */
export const QUEUE_SLOT = '__wfr_queue__';

function queueSafe(id: string): string {
  return id.replace(/:/g, '%3A');
}

/** Builds every key of one prefix. */
export function createKeyspace(prefix = 'wf') {
  const problem = prefixProblem(prefix);
  if (problem) throw new TypeError(problem);
  const tag = `{${prefix}}`;
  const k = (...parts: string[]) => `${tag}:${parts.join(':')}`;
  // Per-run keys are built several times per transition: plain concatenation, no array.
  const runBase = `${tag}:run:`;
  const run = (runId: string) => runBase + runId;
  const ks = {
    prefix,
    tag,
    /** BullMQ `prefix` option: queue keys become `{wf}:<queue>:*`, in the same slot. */
    bullPrefix: tag,
    /** HASH: the run's materialised view (status, input, output, epoch, tail...). */
    run,
    /** STREAM: the run's event log, the source of truth. */
    runEvents: (runId: string) => `${run(runId)}:events`,
    /** HASH: stepId -> step state (JSON). */
    runSteps: (runId: string) => `${run(runId)}:steps`,
    /** HASH: waitId -> wait state (JSON). */
    runWaits: (runId: string) => `${run(runId)}:waits`,
    /** HASH: hookId -> hook state (JSON: token, state). */
    runHooks: (runId: string) => `${run(runId)}:hooks`,
    /** HASH: client-minted resume id -> event id (idempotent re-sends). */
    runResumes: (runId: string) => `${run(runId)}:resumes`,
    /** STRING: the replay lease (owner token, PX ttl). */
    runLease: (runId: string) => `${run(runId)}:lease`,
    /**
     * STREAM: the chunks of one of the run's streams (getWritable), entry ids
     * `<index + 1>-0`, the last one an end marker once closed; namespace '' is
     * the run's main stream.
     */
    runStream: (runId: string, namespace: string) => `${run(runId)}:stream:${namespace}`,
    /** HASH: namespace -> stream key, for every stream of the run (closed and expired with the run). */
    runStreams: (runId: string) => `${run(runId)}:streams`,
    /** HASH: token -> hook record (JSON) for every live hook of the prefix. */
    hooks: () => k('hooks'),
    /** ZSET: token -> claim sequence number, of every live hook with this tag (createHook({ tags })). */
    hookTag: (tag: string) => k('hooks', 'tag', tag),
    /** STRING: counter of tagged hook claims (the scores of the tag indexes: claim order). */
    hookTagSeq: () => k('hooks', 'tag-seq'),
    /** ZSET: every run by creation time (ms). */
    runsAll: () => k('runs'),
    /** ZSET: runs of one status by creation time. */
    runsByStatus: (status: RunStatus) => k('runs', 'status', status),
    /** ZSET: runs of one workflow by creation time. */
    runsByWorkflow: (workflowName: string) => k('runs', 'workflow', workflowName),
    /** ZSET: runs of one workflow version by creation time (the member after `version:` is `name@version`). */
    runsByVersion: (r: Route) => k('runs', 'version', routeId(r)),
    /** SET: every route (`name@version`) a run was created for or a worker registered: the queues to list. */
    routes: () => k('routes'),
    /** HASH: worker id -> presence (JSON: routes, host, pid, seenAt), refreshed by each live worker. */
    workers: () => k('workers'),
    /** ZSET: finished runs under a retention setting, `["runId","workflowName"]` by the time their keys expire. */
    runsExpiring: () => k('runs', 'expiring'),
    /** STRING: idempotency key -> run id. */
    idempotency: (key: string) => k('idem', key),
    /** Pub/sub channel announcing finished runs (message: run id). */
    runFinishedChannel: () => k('run-finished'),
    /** STRING: a webhook's manual response (superjson), read once by resumeWebhook. */
    webhookResponse: (responseId: string) => k('webhook-response', responseId),
    /** Pub/sub channel announcing manual webhook responses (message: response id). */
    webhookResponseChannel: () => k('webhook-responses'),
    /** HASH (World): correlation id (step, hook, wait id) -> run id, for lookups without a run id. */
    worldCorrelations: () => k('corr'),
    /** STRING: leader lock of the periodic reconciler. */
    reconcilerLock: () => k('reconciler'),
  };
  return {
    ...ks,
    /** All status index keys in {@link RUN_STATUSES} order (scripts move runs between them). */
    statusKeys: () => RUN_STATUSES.map((s) => ks.runsByStatus(s)),
    /** Key templates (run id replaced by {@link RUN_ID_SLOT}) for scripts that find the run from a token. */
    runTemplates: () => ({
      /** The workflow index, the workflow name in the slot. */
      workflowIndex: ks.runsByWorkflow(RUN_ID_SLOT),
      /** The version index, the route id (`name@version`) in the slot. */
      versionIndex: k('runs', 'version', RUN_ID_SLOT),
      run: ks.run(RUN_ID_SLOT),
      events: ks.runEvents(RUN_ID_SLOT),
      hooks: ks.runHooks(RUN_ID_SLOT),
      resumes: ks.runResumes(RUN_ID_SLOT),
    }),
    /**
     * Keys the scripts that claim and release tokens compile in (lib/redis/scripts.ts,
     * includes/hookIndex.lua): the tag index template (the tag replaces {@link RUN_ID_SLOT}) and the claim counter.
     */
    hookKeys: () => ({ tagTemplate: k('hooks', 'tag', RUN_ID_SLOT), tagSeq: ks.hookTagSeq() }),
    /** The per-run keys that scripts touching one run receive, in a fixed order. */
    runKeys: (runId: string) => [
      ks.run(runId),
      ks.runEvents(runId),
      ks.runSteps(runId),
      ks.runWaits(runId),
      ks.runHooks(runId),
      ks.runResumes(runId),
      ks.runLease(runId),
    ],
  };
}

/** The key builder of one prefix. */
export type Keyspace = ReturnType<typeof createKeyspace>;
