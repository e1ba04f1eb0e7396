/**
 * The Redis event store: typed wrappers around the Lua transitions and the
 * reads of run hashes, streams and the token hash. Every write goes through a
 * script; every key comes from the keyspace.
 */
import { Queue } from 'bullmq';
import type { Redis, Cluster } from 'ioredis';
import { resolveLogger } from '../log/logger.js';
import { OutageLog } from '../log/outage.js';
import { LuaCode, luaError } from '../errors/lua-codes.js';
import type { RunStatus } from '../domain/run-status.js';
import { DEFAULT_WORKFLOW_VERSION, routeId, type Route } from '../domain/route.js';
import { plainData } from '../serialization/codec.js';
import { createKeyspace, QUEUE_NAMES, QUEUE_SLOT, type Keyspace } from './keys.js';
import { ScriptRunner } from './scripts.js';
import { eventOfOp, opClock } from './events.js';
import { captureReplayJobTemplate, type ReplayJobTemplate } from '../queue/bullmq-contract.js';
import { startHintJobData } from '../queue/replay-job-data.js';
import {
  PRESENCE_TTL_MS,
  type CommitOp, type CommitOptions, type CommitReply, type CommitRequest, type CommitResult, type EventType, type HookRecord,
  type RunRecord, type StartSpec, type StepState, type StoredEvent, type WaitState, type WorkerPresence,
} from './store-types.js';

/** The BullMQ queues of one route: its replays, and its step deliveries and sleep timers. */
export interface RouteQueues {
  replays: Queue;
  steps: Queue;
}

/** Options of a {@link Store}. */
export interface StoreOptions {
  /** Connection for commands (shared by the queues). */
  client: Redis | Cluster;
  /** Key prefix (default `wf`). */
  prefix?: string;
  /**
   * Where the client's and the queues' Redis errors go, one line per outage
   * (default: JSON lines on stderr). Without it BullMQ prints each error's stack.
   */
  outages?: OutageLog;
}

function parseFields(flat: string[]): Record<string, string> {
  const o: Record<string, string> = {};
  for (let i = 0; i < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}

/** Turns XRANGE replies into events. */
export function parseStreamEntries(entries: [string, string[]][]): StoredEvent[] {
  return entries.map(([eventId, flat]) => {
    const f = parseFields(flat);
    return {
      eventId,
      type: f.type as EventType,
      correlationId: f.correlationId ?? '',
      data: f.data ?? '',
      createdAt: Number(f.createdAt),
      ...(f.wc !== undefined ? { wc: Number(f.wc) } : {}),
    };
  });
}

/**
 * One entry of a run's stream: a chunk, or the end marker. A chunk is the
 * superjson text a native writer (getWritable) appended, or the raw bytes an
 * official-SDK World writer appended (lib/world/streams.ts, field `b`).
 */
export type StreamEntry = { index: number; end: true } | { index: number; end?: undefined; data: string | Uint8Array };

/** An XRANGE / XREAD entry as ioredis gives it: text (`xrange`) or bytes (`xrangeBuffer`, `xreadBuffer`). */
export type RawStreamEntry = [id: string | Buffer, fields: (string | Buffer)[]];

// Field names of a chunk entry, as char codes: d = data, e = end marker, b = binary (World) chunk.
const FIELD_D = 0x64;
const FIELD_E = 0x65;
const FIELD_B = 0x62;

/** The one-letter field name's char code (0 for any other name). */
function fieldCode(name: string | Buffer): number {
  if (name.length !== 1) return 0;
  return typeof name === 'string' ? name.charCodeAt(0) : name[0]!;
}

/** The chunk index of entry id `<index + 1>-0`, read without building a string from a Buffer id. */
function entryIndex(id: string | Buffer): number {
  if (typeof id === 'string') return Number(id.slice(0, id.indexOf('-'))) - 1;
  let n = 0;
  for (let i = 0; i < id.length && id[i] !== 0x2d; i++) n = n * 10 + id[i]! - 0x30;
  return n - 1;
}

/**
 * Turns XRANGE / XREAD entries of a run's stream (ids `<index + 1>-0`) into
 * chunks and the end marker. Read with the Buffer commands (`xrangeBuffer`,
 * `xreadBuffer`): a World chunk (field `b`) then comes back as its exact
 * bytes, a Uint8Array owning its memory (safe to transfer), and a native
 * chunk as its text. A text reply decodes every field as UTF-8 already, so
 * a World chunk read that way gives the bytes of that (lossy) text.
 * Decoding only the `d` value costs less than ioredis decoding the whole
 * reply (it parses into Buffers and converts after).
 */
export function parseStreamChunks(entries: RawStreamEntry[]): StreamEntry[] {
  const out: StreamEntry[] = new Array(entries.length);
  for (let j = 0; j < entries.length; j++) {
    const [id, flat] = entries[j]!;
    const index = entryIndex(id);
    let data: string | Buffer = '';
    let end = false;
    let binary = false;
    for (let i = 0; i < flat.length; i += 2) {
      const c = fieldCode(flat[i]!);
      if (c === FIELD_D) data = flat[i + 1]!;
      else if (c === FIELD_E) end = true;
      else if (c === FIELD_B) binary = true;
    }
    if (end) out[j] = { index, end: true };
    else if (binary) out[j] = { index, data: typeof data === 'string' ? new TextEncoder().encode(data) : new Uint8Array(data) };
    else out[j] = { index, data: typeof data === 'string' ? data : data.toString('utf8') };
  }
  return out;
}

/** Parses a commitReplay reply {0, resultsJSON, unseen, now, released}. */
function commitReply(reply: any[], ops: CommitOp[], start?: StartSpec): CommitReply {
  const parsed = JSON.parse(reply[1]);
  const results: CommitResult[] = Array.isArray(parsed) ? parsed : [];
  const now = Number(reply[3]);
  const unseen = parseStreamEntries(reply[2] ?? []);
  const own = ops.map((op, i) => ownEvent(op, results[i], now));
  const events = unseen.concat(own.filter((e): e is StoredEvent => e !== undefined));
  const out: CommitReply = { results, unseen, own, events, now, released: reply[4] === 1 };
  if (start && reply[6]) {
    // run_started, appended by the same script before the ops (includes/startRun.lua)
    events.unshift({ eventId: String(reply[6]), type: 'run_started', correlationId: '', data: plainData({}), createdAt: now, wc: start.startedAt });
    out.epoch = Number(reply[5]);
  }
  return out;
}

/** ARGV form of a start spec ('' = none). */
const startArg = (s: StartSpec | undefined) => (s ? `${s.ttlMs}:${s.startedAt}:${s.owner}` : '');

/** The event a committed op appended, rebuilt from the op and its result (commitReplay.lua does not read them back). */
function ownEvent(op: CommitOp, res: CommitResult | undefined, now: number): StoredEvent | undefined {
  if (!res?.id) return undefined;
  return eventOfOp(op, {
    id: res.id,
    createdAt: now,
    attempt: res.attempt,
    conflictData: res.r === 'conflict' ? (res.d ?? '') : undefined,
    wc: opClock(op),
  });
}

function parseRun(h: Record<string, string>): RunRecord | null {
  if (!h.status) return null;
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  return {
    runId: h.runId!,
    workflowName: h.workflowName!,
    status: h.status as RunStatus,
    input: h.input,
    output: h.output,
    error: h.error,
    createdAt: Number(h.createdAt),
    startedAt: num(h.startedAt),
    completedAt: num(h.completedAt),
    updatedAt: num(h.updatedAt),
    epoch: Number(h.epoch ?? 0),
    seen: h.seen,
    version: h.version || DEFAULT_WORKFLOW_VERSION,
    queue: h.queue,
    ...(h.kind ? { kind: h.kind } : {}),
  };
}

/** The event store of one prefix on one Redis. */
export class Store {
  readonly keys: Keyspace;
  readonly client: Redis | Cluster;
  /** Set by {@link Store.open} (the scripts carry the replay job template captured there). */
  readonly scripts!: ScriptRunner;
  /** The BullMQ queues of each route used by this process, opened on first use. */
  private readonly routeQueues = new Map<string, RouteQueues>();
  private template!: ReplayJobTemplate;
  private readonly statusKeys: string[];
  private readonly templates: ReturnType<Keyspace['runTemplates']>;
  /** The outage log the client and queues report to (workers add theirs). */
  readonly outages: OutageLog;

  private constructor(opts: StoreOptions) {
    this.client = opts.client;
    this.keys = createKeyspace(opts.prefix ?? 'wf');
    this.outages = opts.outages ?? new OutageLog(resolveLogger(undefined), 'workflow-redis');
    this.outages.watchClient(this.client);
    this.statusKeys = this.keys.statusKeys();
    this.templates = this.keys.runTemplates();
  }

  /** Opens a store: registers the scripts and captures the BullMQ job template (checks the bullmq contract). */
  static async open(opts: StoreOptions): Promise<Store> {
    const store = new Store(opts);
    // The template comes from a queue named by a placeholder: it is never written to (no meta, no job).
    const slotQueue = new Queue(QUEUE_SLOT, { connection: store.client as Redis, prefix: store.keys.bullPrefix, skipMetasUpdate: true });
    try {
      store.template = await captureReplayJobTemplate(slotQueue);
    } finally {
      await slotQueue.close();
    }
    (store as { scripts: ScriptRunner }).scripts = new ScriptRunner(store.client, store.template, store.keys.hookKeys());
    return store;
  }

  /**
   * The replay and step queues of a route (opened once per process and route).
   * A queue writes its meta hash once connected: `await store.openQueues(r)` for a settled keyspace.
   */
  queues(r: Route): RouteQueues {
    const id = routeId(r);
    let q = this.routeQueues.get(id);
    if (!q) {
      const queueOpts = { connection: this.client as Redis, prefix: this.keys.bullPrefix };
      q = { replays: new Queue(QUEUE_NAMES.replays(r), queueOpts), steps: new Queue(QUEUE_NAMES.steps(r), queueOpts) };
      this.outages.watch(q.replays, `replay queue ${id}`);
      this.outages.watch(q.steps, `step queue ${id}`);
      this.routeQueues.set(id, q);
    }
    return q;
  }

  /** {@link queues}, once both have written their meta hash. */
  async openQueues(r: Route): Promise<RouteQueues> {
    const q = this.queues(r);
    await Promise.all([q.replays.getVersion(), q.steps.getVersion()]);
    return q;
  }

  /**
   * Pins a run stored before versions existed to version 1 of its workflow
   * (its queue, the version index, the routes set). Idempotent; the caller
   * wakes the run afterwards (its resumes meanwhile were recorded, not queued).
   */
  async adoptUnversionedRun(run: RunRecord): Promise<void> {
    const route = { workflowName: run.workflowName, version: DEFAULT_WORKFLOW_VERSION };
    await this.client.multi()
      .hsetnx(this.keys.run(run.runId), 'version', route.version)
      .hsetnx(this.keys.run(run.runId), 'queue', QUEUE_NAMES.replays(route))
      .zadd(this.keys.runsByVersion(route), run.createdAt, run.runId)
      .sadd(this.keys.routes(), routeId(route))
      .exec();
  }

  /** Every route with runs or workers, as `name@version` ids (dashboard, tools). */
  async knownRoutes(): Promise<string[]> {
    return (await this.client.smembers(this.keys.routes())).sort();
  }

  /** Announces (or refreshes) a live worker and the routes it registers. */
  async announceWorker(p: Omit<WorkerPresence, 'seenAt'>): Promise<void> {
    const [secs, micros] = await this.client.time();
    const seenAt = Number(secs) * 1000 + Math.floor(Number(micros) / 1000);
    const entry: WorkerPresence = { ...p, seenAt };
    const tx = this.client.multi().hset(this.keys.workers(), p.workerId, JSON.stringify(entry));
    if (p.routes.length > 0) tx.sadd(this.keys.routes(), ...p.routes);
    await tx.exec();
  }

  /** Removes a closing worker's presence. */
  async withdrawWorker(workerId: string): Promise<void> {
    await this.client.hdel(this.keys.workers(), workerId);
  }

  /**
   * The live workers (a presence refreshed within {@link PRESENCE_TTL_MS});
   * entries of workers gone without closing are dropped on the way.
   */
  async liveWorkers(): Promise<WorkerPresence[]> {
    const [all, [secs]] = await Promise.all([this.client.hgetall(this.keys.workers()), this.client.time()]);
    const now = Number(secs) * 1000;
    const live: WorkerPresence[] = [];
    const gone: string[] = [];
    for (const [id, raw] of Object.entries(all)) {
      let p: WorkerPresence | undefined;
      try {
        p = JSON.parse(raw) as WorkerPresence;
      } catch {
        p = undefined;
      }
      if (p && now - p.seenAt <= PRESENCE_TTL_MS) live.push(p);
      // Twice the TTL: a worker only late to refresh is not dropped under it.
      else if (!p || now - p.seenAt > 2 * PRESENCE_TTL_MS) gone.push(id);
    }
    if (gone.length > 0) await this.client.hdel(this.keys.workers(), ...gone);
    return live;
  }

  private fail(reply: unknown[], script: string, ctx: { runId?: string; token?: string } = {}): never {
    throw luaError(Number(reply[0]), reply[1], { script, ...ctx });
  }

  /** run_created + enqueue on the route's replay queue. Returns whether this call created the run. */
  async createRun(p: {
    runId: string;
    workflowName: string;
    version: string;
    input: string;
    data: string;
    idempotencyKey?: string;
    /** Keep the run's keys this long after it ends (unset: until deleted). */
    retentionMs?: number;
    /** A hook token to claim with the run (see createRun.lua: `hook_0`, adopted by the workflow's createHook). */
    claim?: { token: string; metadata?: string; data: string };
  }): Promise<{ runId: string; created: boolean }> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'createRun',
      [
        k.run(p.runId),
        k.runEvents(p.runId),
        k.idempotency(p.idempotencyKey ?? ''),
        k.runsAll(),
        k.runsByStatus('pending'),
        k.runsByWorkflow(p.workflowName),
        k.runsByVersion(p),
        k.routes(),
        k.hooks(),
        k.runHooks(p.runId),
      ],
      [
        p.runId, p.workflowName, p.data, p.input, p.idempotencyKey ? '1' : '0', p.retentionMs ? String(p.retentionMs) : '',
        // A run that claims a hook has no start hint: its first replay reads the log (the claim) before its code runs.
        p.claim ? '' : startHintJobData(p.runId, p.workflowName, p.input), p.version, routeId(p), QUEUE_NAMES.replays(p),
        p.claim ? JSON.stringify({ token: p.claim.token, ...(p.claim.metadata !== undefined ? { metadata: p.claim.metadata } : {}) }) : '',
        p.claim?.data ?? '',
      ],
    );
    if (reply[0] < 0) this.fail(reply, 'createRun', { runId: p.runId, token: p.claim?.token });
    return { runId: String(reply[1]), created: reply[0] === LuaCode.OK };
  }

  /** The atomic resume (ARCHITECTURE §4). Throws HookNotFoundError when the token is not live. */
  resumeHook(
    token: string,
    data: string,
    resumeId: string,
    opts: { webhookOnly?: boolean } = {},
  ): Promise<{ hook: HookRecord; eventId: string; duplicate: boolean }> {
    const t = this.templates;
    return this.scripts
      .run('resumeHook', [this.keys.hooks()], [token, resumeId, data, t.run, t.events, t.resumes, opts.webhookOnly ? '1' : '0'])
      .then((reply) => {
        if (reply[0] < 0) this.fail(reply, 'resumeHook', { token });
        return { hook: JSON.parse(reply[1]) as HookRecord, eventId: String(reply[2]), duplicate: reply[0] === 1 };
      });
  }

  /** Stores a webhook's manual response and notifies the waiting resumeWebhook call. */
  async pushWebhookResponse(responseId: string, response: string, ttlMs = 60_000): Promise<void> {
    await this.client.multi()
      .set(this.keys.webhookResponse(responseId), response, 'PX', ttlMs)
      .publish(this.keys.webhookResponseChannel(), responseId)
      .exec();
  }

  /** Takes a webhook's manual response, if it was sent. */
  async takeWebhookResponse(responseId: string): Promise<string | null> {
    return this.client.getdel(this.keys.webhookResponse(responseId));
  }

  /** The live hook holding a token, or null. */
  async getHook(token: string): Promise<HookRecord | null> {
    const raw = await this.client.hget(this.keys.hooks(), token);
    return raw ? (JSON.parse(raw) as HookRecord) : null;
  }

  /**
   * Takes the replay lease and bumps the epoch; appends run_started for a
   * pending run. Also loads the replay's input: the events after the warm
   * execution's cursor when `warm` is still valid, else the input and the
   * events from the start (at most `maxEvents`: long logs are read on with a
   * plain XRANGE, cheaper than returning them through Lua).
   */
  async acquireRun(runId: string, owner: string, ttlMs: number, warm?: { epoch: number; cursor: string }, maxEvents = 256) {
    const k = this.keys;
    const reply = await this.scripts.run(
      'acquireRun',
      [k.run(runId), k.runEvents(runId), k.runLease(runId), ...this.statusKeys],
      [owner, ttlMs, warm ? String(warm.epoch) : '', warm?.cursor ?? '', maxEvents],
    );
    if (reply[0] < 0) this.fail(reply, 'acquireRun', { runId });
    return {
      epoch: Number(reply[1]),
      status: String(reply[2]) as RunStatus,
      startedAt: Number(reply[3]),
      seen: String(reply[4]),
      workflowName: String(reply[5]),
      warm: reply[6] === 1,
      input: String(reply[7]),
      events: parseStreamEntries(reply[8] ?? []),
      maxEvents,
      /** This call appended run_started (the run was pending). */
      started: reply[9] === 1,
    };
  }

  /** Extends the lease; false when another owner has it. */
  async renewLease(runId: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await this.scripts.run('renewLease', [this.keys.runLease(runId)], [owner, ttlMs])) === 1;
  }

  /** Drops the lease and records the last consumed event. */
  async releaseRun(runId: string, owner: string, epoch: number, seenEventId: string): Promise<boolean> {
    const k = this.keys;
    return (await this.scripts.run('releaseRun', [k.run(runId), k.runLease(runId)], [owner, epoch, seenEventId])) === 1;
  }

  /**
   * Commits a replay's transitions (fenced by epoch unless epoch is null).
   * `cursor` is the last event the caller consumed: events appended by others
   * after it come back in `unseen` ('' = none are read).
   */
  async commit(runId: string, epoch: number | null, ops: CommitOp[], cursor = '', opts: CommitOptions = {}): Promise<CommitReply> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'commitReplay',
      [
        k.run(runId), k.runEvents(runId), k.runSteps(runId), k.runWaits(runId), k.runHooks(runId), k.hooks(), k.runLease(runId),
        ...this.statusKeys, k.runResumes(runId), k.runsExpiring(), k.runStreams(runId),
      ],
      [epoch === null ? '' : String(epoch), JSON.stringify(ops), cursor, k.runFinishedChannel(), opts.strict ? '1' : '', opts.releaseOwner ?? '', startArg(opts.start)],
    );
    if (reply[0] < 0) this.fail(reply, 'commitReplay', { runId });
    return commitReply(reply, ops, opts.start);
  }

  /**
   * Several runs' commits in one script call (see commitReplayBatch.lua): each
   * settles on its own, with the reply or the typed error {@link commit} would give.
   */
  async commitBatch(reqs: readonly CommitRequest[]): Promise<PromiseSettledResult<CommitReply>[]> {
    const k = this.keys;
    const keys: string[] = [k.hooks(), ...this.statusKeys, k.runsExpiring()];
    const argv: string[] = [k.runFinishedChannel()];
    for (const q of reqs) {
      keys.push(
        k.run(q.runId), k.runEvents(q.runId), k.runSteps(q.runId), k.runWaits(q.runId), k.runHooks(q.runId), k.runLease(q.runId), k.runResumes(q.runId),
        k.runStreams(q.runId),
      );
      argv.push(
        q.epoch === null ? '' : String(q.epoch), JSON.stringify(q.ops), q.cursor, q.opts?.strict ? '1' : '', q.opts?.releaseOwner ?? '', startArg(q.opts?.start),
      );
    }
    const replies: any[] = await this.scripts.run('commitReplayBatch', keys, argv);
    return reqs.map((q, i) => {
      const reply = replies[i];
      if (!Array.isArray(reply)) return { status: 'rejected', reason: reply instanceof Error ? reply : new Error(String(reply)) };
      if (reply[0] < 0) return { status: 'rejected', reason: luaError(Number(reply[0]), reply[1], { script: 'commitReplay', runId: q.runId }) };
      return { status: 'fulfilled', value: commitReply(reply, q.ops, q.opts?.start) };
    });
  }

  /** step_started for a step-queue delivery. */
  async startStep(runId: string, stepId: string): Promise<{ attempt: number; startedAt: number; stepName: string; input: string }> {
    const k = this.keys;
    const reply = await this.scripts.run('startStep', [k.run(runId), k.runEvents(runId), k.runSteps(runId)], [stepId]);
    if (reply[0] < 0) this.fail(reply, 'startStep', { runId });
    return { attempt: Number(reply[1]), startedAt: Number(reply[2]), stepName: String(reply[3]), input: String(reply[4]) };
  }

  /** Puts a pending or running run on the workflow queue (deduplicated). */
  async wakeRun(runId: string): Promise<void> {
    const reply = await this.scripts.run('wakeRun', [this.keys.run(runId)], []);
    if (reply[0] < 0) this.fail(reply, 'wakeRun', { runId });
  }

  /** Step states of a run (reconciler, inspector). */
  async getSteps(runId: string): Promise<Record<string, StepState>> {
    const h = await this.client.hgetall(this.keys.runSteps(runId));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as StepState]));
  }

  /** Wait states of a run. */
  async getWaits(runId: string): Promise<Record<string, WaitState>> {
    const h = await this.client.hgetall(this.keys.runWaits(runId));
    return Object.fromEntries(Object.entries(h).map(([k, v]) => [k, JSON.parse(v) as WaitState]));
  }

  /** A step-queue result; completion and failure wake the run atomically. */
  async finishStep(
    runId: string,
    stepId: string,
    type: 'step_completed' | 'step_failed' | 'step_retrying',
    data: string,
    retryAt = 0,
  ): Promise<string> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'finishStep',
      [k.run(runId), k.runEvents(runId), k.runSteps(runId)],
      [stepId, type, data, retryAt],
    );
    if (reply[0] < 0) this.fail(reply, 'finishStep', { runId });
    return String(reply[1]);
  }

  /** A fired timer: wait_completed (a sleep) or hook_timed_out (a hook's timeout), and wake the run. */
  async completeWait(runId: string, waitId: string): Promise<string> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'completeWait',
      [k.run(runId), k.runEvents(runId), k.runWaits(runId), k.runHooks(runId), k.hooks()],
      [waitId],
    );
    if (reply[0] < 0) this.fail(reply, 'completeWait', { runId });
    return String(reply[1]);
  }

  /** run_cancelled (idempotent on a cancelled run). Returns false when it was already cancelled. */
  async cancelRun(runId: string): Promise<boolean> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'cancelRun',
      [
        k.run(runId), k.runEvents(runId), k.runWaits(runId), k.runHooks(runId), k.hooks(), ...this.statusKeys, k.runSteps(runId), k.runResumes(runId),
        k.runsExpiring(), k.runStreams(runId),
      ],
      [k.runFinishedChannel()],
    );
    if (reply[0] < 0) this.fail(reply, 'cancelRun', { runId });
    return reply[0] === LuaCode.OK;
  }

  /**
   * True for the first caller that notes the run's cancellation (see
   * noteCancelled.lua): that one logs it, so the line appears once per run.
   */
  async noteCancelled(runId: string): Promise<boolean> {
    return (await this.scripts.run('noteCancelled', [this.keys.run(runId)], [])) === 1;
  }

  /**
   * Drops runs whose retention has passed from the run indexes (their keys
   * have expired). Returns how many; call again while it returns `limit`.
   */
  async pruneExpiredRuns(limit = 500): Promise<number> {
    const k = this.keys;
    const t = this.templates;
    return Number(await this.scripts.run('pruneRuns', [k.runsExpiring(), k.runsAll(), ...this.statusKeys], [t.run, t.workflowIndex, limit, t.versionIndex]));
  }

  /** The run hash, or null. */
  async getRun(runId: string): Promise<RunRecord | null> {
    return parseRun(await this.client.hgetall(this.keys.run(runId)));
  }

  /** Events after `afterEventId` (exclusive; '' = from the start), at most `count`. */
  async readEvents(runId: string, afterEventId = '', count = 1000): Promise<StoredEvent[]> {
    const start = afterEventId ? `(${afterEventId}` : '-';
    const entries = (await this.client.xrange(this.keys.runEvents(runId), start, '+', 'COUNT', count)) as [string, string[]][];
    return parseStreamEntries(entries);
  }

  /** Every event after `afterEventId`, paging through the stream. */
  async readAllEvents(runId: string, afterEventId = ''): Promise<StoredEvent[]> {
    const out: StoredEvent[] = [];
    let cursor = afterEventId;
    for (;;) {
      const page = await this.readEvents(runId, cursor, 2000);
      out.push(...page);
      if (page.length < 2000) return out;
      cursor = page[page.length - 1]!.eventId;
    }
  }

  /** Id of the run's last event ('' when there is none). */
  async lastEventId(runId: string): Promise<string> {
    const last = (await this.client.xrevrange(this.keys.runEvents(runId), '+', '-', 'COUNT', 1)) as [string, string[]][];
    return last[0]?.[0] ?? '';
  }

  /** Stream length of a run (tests and tools). */
  async eventCount(runId: string): Promise<number> {
    return this.client.xlen(this.keys.runEvents(runId));
  }

  /** Run ids, newest first, from the index that fits the filter. */
  async listRunIds(p: { status?: RunStatus; workflowName?: string; version?: string; offset: number; limit: number }): Promise<string[]> {
    const key = p.workflowName
      ? p.version
        ? this.keys.runsByVersion({ workflowName: p.workflowName, version: p.version })
        : this.keys.runsByWorkflow(p.workflowName)
      : p.status
        ? this.keys.runsByStatus(p.status)
        : this.keys.runsAll();
    if (!(p.workflowName && p.status)) return this.client.zrevrange(key, p.offset, p.offset + p.limit - 1);
    // Both filters: walk the workflow's (or version's) index and keep the runs of that status.
    const out: string[] = [];
    let skipped = 0;
    for (let start = 0; out.length < p.limit; start += 500) {
      const ids = await this.client.zrevrange(key, start, start + 499);
      if (ids.length === 0) break;
      const scores = await Promise.all(ids.map((id) => this.client.zscore(this.keys.runsByStatus(p.status!), id)));
      for (let i = 0; i < ids.length && out.length < p.limit; i++) {
        if (scores[i] === null) continue;
        if (skipped++ < p.offset) continue;
        out.push(ids[i]!);
      }
    }
    return out;
  }

  /** Runs of one status, oldest first (reconciler). */
  async runIdsByStatus(status: RunStatus, start: number, count: number): Promise<string[]> {
    return this.client.zrange(this.keys.runsByStatus(status), String(start), String(start + count - 1));
  }

  /**
   * Appends chunks (superjson each) to one of the run's streams, and closes it
   * after them with `close`; refused (nothing written) for an unknown or
   * finished run (WorkflowRunNotFoundError, RunExpiredError) and a closed
   * stream (StreamClosedError). Returns the index of the first chunk appended.
   */
  async appendChunks(runId: string, namespace: string, writer: { stepId: string; attempt: number }, chunks: readonly string[], close = false): Promise<number> {
    const k = this.keys;
    const reply = await this.scripts.run(
      'appendChunks',
      [k.run(runId), k.runStream(runId, namespace), k.runStreams(runId)],
      [namespace, writer.stepId, writer.attempt, close ? '1' : '', ...chunks],
    );
    if (reply[0] < 0) this.fail(reply, 'appendChunks', { runId });
    return Number(reply[1]);
  }

  /**
   * Opens one of the run's streams for reading: the run's end will close it
   * (an end marker) even if nothing is ever written. Returns its entry count
   * (the end marker included) and whether it is closed.
   */
  async openStream(runId: string, namespace: string): Promise<{ entries: number; closed: boolean }> {
    const k = this.keys;
    const reply = await this.scripts.run('openStream', [k.run(runId), k.runStream(runId, namespace), k.runStreams(runId)], [namespace]);
    if (reply[0] < 0) this.fail(reply, 'openStream', { runId });
    return { entries: Number(reply[1]), closed: reply[2] === 1 };
  }

  /** Entries of one of the run's streams from `fromIndex` on (at most `count`). */
  async readStreamEntries(runId: string, namespace: string, fromIndex: number, count: number): Promise<StreamEntry[]> {
    const entries = (await this.client.xrangeBuffer(this.keys.runStream(runId, namespace), `${fromIndex + 1}-0`, '+', 'COUNT', count)) as RawStreamEntry[];
    return parseStreamChunks(entries);
  }

  /**
   * What the run holds in Redis (MEMORY USAGE, bytes): its event log, its
   * streams, and all its keys together (run hash, log, step, wait and hook
   * states, resumes, streams). 0 for keys that do not exist.
   */
  async runFootprint(runId: string): Promise<{ totalBytes: number; eventLogBytes: number; streamBytes: number }> {
    const k = this.keys;
    const streamKeys = Object.values(await this.client.hgetall(k.runStreams(runId)));
    const fixed = [k.run(runId), k.runEvents(runId), k.runSteps(runId), k.runWaits(runId), k.runHooks(runId), k.runResumes(runId), k.runStreams(runId)];
    const all = [...fixed, ...streamKeys];
    const tx = this.client.pipeline();
    for (const key of all) tx.memory('USAGE', key, 'SAMPLES', '0');
    const sizes = ((await tx.exec()) ?? []).map(([err, v]) => (err ? 0 : Number(v ?? 0)));
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    return { totalBytes: sum(sizes), eventLogBytes: sizes[1] ?? 0, streamBytes: sum(sizes.slice(fixed.length)) };
  }

  /** Closes the queues (not the shared client). */
  async close(): Promise<void> {
    await Promise.all([...this.routeQueues.values()].flatMap((q) => [q.replays.close(), q.steps.close()]));
  }
}

