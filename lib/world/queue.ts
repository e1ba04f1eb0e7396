/**
 * The official runtime's queue on BullMQ.
 *
 * `queue()` adds one job per message to the kind's queue (`wdk-workflow`,
 * `wdk-step`, in the World's prefix: never a native route's queue), its id
 * the message id. `start()` runs one Worker per kind; each job is POSTed to
 * the app's `/.well-known/workflow/v1/flow|step` route with the `x-vqs-*`
 * headers the runtime's `createQueueHandler` reads, as world-local and
 * Vercel Queues deliver. The route's reply decides what happens next: a
 * `{ timeoutSeconds }` answer redelivers the same job later, another 2xx
 * completes it, anything else is a failure BullMQ retries.
 *
 * Delivery attempts are BullMQ's `attemptsStarted` (every move to active:
 * the first delivery, each `timeoutSeconds` redelivery, each retry, and a
 * redelivery after a stall). A redelivery after a crash must not claim to be
 * attempt 1: the runtime takes attempt 1 as "no earlier delivery of this
 * message", the condition of its turbo path and of inline step ownership.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { DelayedError, Queue as BullQueue, Worker, type Job, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { WorkflowWorldError } from '@workflow/errors';
import type { MessageId, Queue as WorldQueue, QueueOptions, QueuePayload, QueuePrefix, ValidQueueName } from '@workflow/world';
import { WORLD_QUEUE_NAMES } from '../redis/keys.js';
import type { Logger } from '../log/logger.js';
import { OutageLog } from '../log/outage.js';
import type { WorldContext } from './context.js';
import { ulid } from './ids.js';
import { decodeBody, encodeBody } from './transport.js';

/** The queue half of a World, plus its background work. */
export interface WorldQueueParts extends WorldQueue {
  /** Starts the BullMQ workers that deliver messages over HTTP; resolves once they run. Idempotent. */
  start(): Promise<void>;
  /** Stops the workers (in-flight deliveries finish first) and closes the queues. Idempotent, safe if never started. */
  close(): Promise<void>;
}

/** Tuning of {@link createWorldQueue}; the defaults are what a World uses. */
export interface WorldQueueOptions {
  /** Where lines go (default: the library's logger at `WORKFLOW_REDIS_LOG_LEVEL`). */
  log?: Logger;
  /** Deliveries of a message before a failing one is dropped (default 32, like Vercel Queues' linear phase). */
  attempts?: number;
  /** Wait before a failed delivery is retried, in ms (default 5000, world-local's and VQS's linear backoff). */
  retryDelayMs?: number;
  /**
   * BullMQ lock of a delivery in flight, in ms (default 60000); renewed every
   * half of it while the route runs, so only a process that stops renewing
   * (crashed, or its event loop blocked that long) loses the message to a redelivery.
   */
  lockDurationMs?: number;
  /** How often workers look for deliveries whose lock expired, in ms (default 30000). */
  stalledIntervalMs?: number;
}

/** A queue kind: which BullMQ queue, which route. */
type Kind = keyof typeof WORLD_QUEUE_NAMES;

/** The data of a message's BullMQ job. */
interface MessageJob {
  /** The queue name given to `queue()` (`__wkf_workflow_<name>`). */
  q: string;
  /** The message id: the job id, the `x-vqs-message-id` of every delivery. */
  m: string;
  /** The attempt the first delivery reports (the `x-vqs-message-attempt` is `base - 1 + attemptsStarted`). */
  base: number;
  /** The payload as {@link encodeBody} text, POSTed as it is. */
  body: string;
  /** Extra headers from `QueueOptions.headers`. */
  h?: Record<string, string>;
  /** The payload's run id, for log lines (never the payload itself). */
  r?: string;
}

/** Official queue names (`@workflow/world` `ValidQueueName`); the group is the kind. */
const QUEUE_NAME = /^__(?:[a-z][a-z0-9]*_)?wkf_(workflow|step)_.+$/;
const QUEUE_NAME_FORM = '__wkf_workflow_<name>, __wkf_step_<name>, or __<namespace>_wkf_workflow_<name> / __<namespace>_wkf_step_<name> (namespace: lowercase letters and digits, starting with a letter)';

/**
 * The longest delay honoured at once (2^31 - 1 ms, about 24.8 days, world-local's
 * bound). A longer sleep is delivered early and the runtime answers with the
 * time still to wait, so nothing is lost; BullMQ's delayed scores stay exact.
 */
const MAX_DELAY_MS = 2_147_483_647;

/** How much of a route's reply is read (a `{ timeoutSeconds }` answer is a few bytes). */
const MAX_REPLY_BYTES = 64 * 1024;

/** The kind of a queue name; a WorkflowWorldError names the expected form. */
function kindOf(queueName: unknown): Kind {
  const m = typeof queueName === 'string' ? QUEUE_NAME.exec(queueName) : null;
  if (!m) {
    throw new WorkflowWorldError(`queue(${JSON.stringify(queueName)}): not a queue name of the official runtime; expected ${QUEUE_NAME_FORM}.`, { code: 'INVALID_QUEUE_NAME' });
  }
  return m[1] as Kind;
}

/** `delaySeconds` as ms: absent, 0 or negative is now; not a number is refused. */
function delayMsOf(delaySeconds: unknown): number {
  if (delaySeconds === undefined || delaySeconds === null) return 0;
  if (typeof delaySeconds !== 'number' || Number.isNaN(delaySeconds)) {
    throw new WorkflowWorldError(`queue(): delaySeconds must be a number of seconds, got ${JSON.stringify(delaySeconds)}.`, { code: 'INVALID_DELAY' });
  }
  return Math.min(Math.max(Math.ceil(delaySeconds * 1000), 0), MAX_DELAY_MS);
}

/** The `timeoutSeconds` of a 2xx reply, or undefined when it asks for no redelivery. */
function timeoutOf(reply: string): number | undefined {
  try {
    const v = (JSON.parse(reply) as { timeoutSeconds?: unknown } | null)?.timeoutSeconds;
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * POSTs `body`, resolving with the status and (the head of) the reply.
 * node:http rather than fetch: Node's fetch gives up on a reply whose headers
 * take over 300 s, and the route answers only when the handler has finished
 * (a long inline step); the retry would then run beside the first delivery.
 */
function post(url: URL, headers: Record<string, string>, body: string): Promise<{ status: number; reply: string }> {
  return new Promise((resolve, reject) => {
    const payload = Buffer.from(body, 'utf8');
    const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
    const req = send(url, { method: 'POST', headers: { ...headers, 'content-length': String(payload.length) } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < MAX_REPLY_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, reply: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

/** An error's name and code for a log line: never its message, which may quote payload data or a hook token. */
function errorKind(err: unknown): string {
  const e = err as { name?: unknown; code?: unknown };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  return typeof e?.code === 'string' ? `${name} (${e.code})` : name;
}

function badRequest(error: string): Response {
  return Response.json({ error }, { status: 400 });
}

/** Builds the World's queue on the context's Redis (nothing connects before the first call). */
export function createWorldQueue(ctx: WorldContext, options: WorldQueueOptions = {}): WorldQueueParts {
  const log = options.log ?? ctx.config.logger;
  const outages = new OutageLog(log, 'world queue');
  const attempts = options.attempts ?? 32;
  const retryDelayMs = options.retryDelayMs ?? 5000;
  const lockDuration = options.lockDurationMs ?? 60_000;
  const stalledInterval = options.stalledIntervalMs ?? 30_000;
  const producers = new Map<Kind, BullQueue>();
  const workers: Worker[] = [];
  let starting: Promise<void> | undefined;
  let closing: Promise<void> | undefined;

  function producer(kind: Kind): BullQueue {
    let q = producers.get(kind);
    if (!q) {
      q = new BullQueue(WORLD_QUEUE_NAMES[kind], { connection: ctx.redis, prefix: ctx.keys.bullPrefix });
      outages.watch(q, `${WORLD_QUEUE_NAMES[kind]} queue`);
      producers.set(kind, q);
    }
    return q;
  }

  /** The app's origin, read at each delivery: the test server sets PORT after createWorld(). */
  function origin(): string {
    if (ctx.config.baseUrl) return ctx.config.baseUrl;
    const port = process.env.PORT;
    if (!port) throw new Error('no baseUrl configured and PORT is not set: cannot tell where the app listens');
    return `http://localhost:${port}`;
  }

  async function deliver(kind: Kind, job: Job<MessageJob>, token?: string): Promise<void> {
    const { q, m, base, body, h } = job.data;
    const attempt = base - 1 + job.attemptsStarted;
    const url = new URL(`${origin()}/.well-known/workflow/v1/${kind === 'workflow' ? 'flow' : 'step'}`);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(h ?? {})) headers[k.toLowerCase()] = v;
    Object.assign(headers, {
      'content-type': 'application/json',
      'x-vqs-queue-name': q,
      'x-vqs-message-id': m,
      'x-vqs-message-attempt': String(attempt),
    });
    const { status, reply } = await post(url, headers, body);
    if (status < 200 || status > 299) throw new Error(`the route answered HTTP ${status}`);
    const timeoutSeconds = timeoutOf(reply);
    if (timeoutSeconds === undefined) return;
    // The same job goes back to delayed: its id (the message id) stays, and
    // the next move to active counts the next attempt. moveToDelayed does not
    // count a failed attempt, so redeliveries never use up the retry budget.
    const delay = Math.min(Math.ceil(timeoutSeconds * 1000), MAX_DELAY_MS);
    log('debug', 'queue message redelivered later', { queueName: q, messageId: m, runId: job.data.r, attempt, delayMs: delay });
    await job.moveToDelayed(Date.now() + delay, token);
    throw new DelayedError();
  }

  const queue: WorldQueue['queue'] = async (queueName: ValidQueueName, payload: QueuePayload, opts: QueueOptions = {}) => {
    const kind = kindOf(queueName);
    const delay = delayMsOf(opts?.delaySeconds);
    if (closing) throw new WorkflowWorldError(`queue(${queueName}): the World is closed.`, { code: 'WORLD_CLOSED' });
    let body: string;
    try {
      body = encodeBody(payload);
    } catch (err) {
      throw new WorkflowWorldError(`queue(${queueName}): the payload is not serializable (${errorKind(err)}).`, { cause: err, code: 'INVALID_PAYLOAD' });
    }
    const messageId = `msg_${ulid()}`;
    const p = payload as { runId?: unknown; workflowRunId?: unknown };
    const runId = typeof p?.runId === 'string' ? p.runId : typeof p?.workflowRunId === 'string' ? p.workflowRunId : undefined;
    const data: MessageJob = { q: queueName, m: messageId, base: 1, body, ...(opts?.headers && { h: opts.headers }), ...(runId && { r: runId }) };
    const jobOpts: JobsOptions = {
      jobId: messageId,
      delay,
      attempts,
      backoff: { type: 'fixed', delay: retryDelayMs },
      removeOnComplete: true,
      removeOnFail: { age: 7 * 24 * 3600, count: 1000 },
    };
    // Simple-mode deduplication: the key lives until the job completes or fails
    // (BullMQ deletes it then), and a second add answers the first job's id.
    // Scoped by queue name: one key on two workflows' queues is two messages.
    if (opts?.idempotencyKey) jobOpts.deduplication = { id: `${queueName}:${opts.idempotencyKey}` };
    const job = await producer(kind).add(queueName, data, jobOpts);
    const id = job.id ?? messageId;
    log('debug', 'queue message enqueued', { queueName, messageId: id, runId, delayMs: delay, deduplicated: id !== messageId });
    return { messageId: id as MessageId };
  };

  const createQueueHandler: WorldQueue['createQueueHandler'] = (prefix: QueuePrefix, handler) => {
    return async (req: Request): Promise<Response> => {
      const queueName = req.headers.get('x-vqs-queue-name');
      const messageId = req.headers.get('x-vqs-message-id');
      const attemptText = req.headers.get('x-vqs-message-attempt');
      const missing = [!queueName && 'x-vqs-queue-name', !messageId && 'x-vqs-message-id', !attemptText && 'x-vqs-message-attempt'].filter(Boolean);
      if (missing.length > 0) return badRequest(`Missing required headers: ${missing.join(', ')}`);
      if (!QUEUE_NAME.test(queueName!)) return badRequest(`x-vqs-queue-name ${JSON.stringify(queueName)} is not a queue name; expected ${QUEUE_NAME_FORM}`);
      if (!queueName!.startsWith(prefix)) return badRequest(`Unhandled queue: this route takes ${prefix}* messages, not ${queueName}`);
      const attempt = Number(attemptText);
      if (!Number.isInteger(attempt) || attempt < 1) return badRequest(`x-vqs-message-attempt must be an integer from 1, got ${JSON.stringify(attemptText)}`);
      let text: string;
      try {
        text = await req.text();
      } catch {
        return badRequest('The request body could not be read');
      }
      if (text === '') return badRequest('Missing request body');
      let body: unknown;
      try {
        body = decodeBody(text);
      } catch {
        return badRequest('The request body is not JSON');
      }
      const meta = { attempt, queueName: queueName as ValidQueueName, messageId: messageId as MessageId };
      let result: void | { timeoutSeconds: number };
      try {
        result = await handler(body, meta);
      } catch (err) {
        // A 5xx makes the queue retry the message (attempt + 1).
        log('warn', 'queue handler failed', { queueName, messageId, attempt, error: errorKind(err) });
        return Response.json({ error: String(err) }, { status: 500 });
      }
      if (result && typeof result.timeoutSeconds === 'number') {
        const t = result.timeoutSeconds;
        return Response.json({ timeoutSeconds: Number.isNaN(t) ? 0 : Math.min(Math.max(t, 0), MAX_DELAY_MS / 1000) });
      }
      return Response.json({ ok: true });
    };
  };

  async function startWorkers(): Promise<void> {
    const connection = ctx.open('wdk-queue-workers', true) as Redis;
    outages.watchClient(connection);
    for (const kind of Object.keys(WORLD_QUEUE_NAMES) as Kind[]) {
      const w = new Worker<MessageJob>(WORLD_QUEUE_NAMES[kind], (job, token) => deliver(kind, job, token), {
        connection,
        prefix: ctx.keys.bullPrefix,
        concurrency: ctx.config.concurrency,
        lockDuration,
        stalledInterval,
        // A stall is a redelivery, not a failure: drop a message only when it keeps stalling.
        maxStalledCount: 10,
        autorun: false,
      });
      outages.watch(w, `${w.name} worker`);
      w.on('failed', (job, err) => {
        if (!job) return;
        const last = job.attemptsMade >= (job.opts.attempts ?? 1);
        log(last ? 'error' : 'warn', last ? 'queue message dropped: every delivery failed' : 'queue delivery failed: retried later', {
          queueName: job.data.q,
          messageId: job.data.m,
          runId: job.data.r,
          attempt: job.data.base - 1 + job.attemptsStarted,
          error: err.message,
        });
      });
      workers.push(w);
      void w.run().catch((err: unknown) => outages.error(`${w.name} worker`, err));
    }
    await Promise.all(workers.map((w) => w.waitUntilReady()));
  }

  return {
    getDeploymentId: async () => ctx.config.deploymentId,
    queue,
    createQueueHandler,
    start() {
      if (closing) return Promise.resolve();
      starting ??= startWorkers();
      return starting;
    },
    close() {
      closing ??= (async () => {
        await starting?.catch(() => undefined);
        await Promise.all(workers.map((w) => w.close()));
        await Promise.all([...producers.values()].map((q) => q.close()));
      })();
      return closing;
    },
  };
}
