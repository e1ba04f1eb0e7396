/**
 * Every error class of workflow-redis. Errors are recognised by `name` (stable
 * across duplicate copies of the package), and each message says what to do.
 * Messages never include hook tokens or payloads: tokens are on `.token`.
 */

/** Base class of the errors raised by workflow-redis itself. */
export class WorkflowError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
  }
  /** True when `err` is an error of this class (matched by name, so it works across package copies). */
  static is<T extends abstract new (...args: any[]) => WorkflowError>(this: T, err: unknown): err is InstanceType<T> {
    return err instanceof Error && err.name === this.name;
  }
}

/** The token is unknown, its hook was disposed, or its run has finished. */
export class HookNotFoundError extends WorkflowError {
  /** The token that was looked up. */
  readonly token: string;
  constructor(token: string) {
    super('Hook not found');
    this.token = token;
  }
}

/** A hook's token is held by another live hook (of any run, this one included). */
export class HookConflictError extends WorkflowError {
  readonly token: string;
  readonly conflictingRunId: string | undefined;
  constructor(token: string, conflictingRunId?: string) {
    super(
      `Hook token is already in use by another live hook (run "${conflictingRunId ?? 'unknown'}"). ` +
        'Use a token unique among live hooks, or dispose the other hook first.',
    );
    this.token = token;
    this.conflictingRunId = conflictingRunId;
  }
}

/**
 * A hook created with `timeout` was not resumed in time: `await hook` (or the
 * next `for await` iteration) rejects with this once the payloads received
 * before the timeout have been delivered. The token was released when the
 * timeout was recorded; catch it in the workflow to go on without the payload.
 */
export class HookTimeoutError extends WorkflowError {
  /** The token of the hook that timed out. */
  readonly token: string;
  constructor(token: string) {
    super('The hook timed out before it received a payload (createHook({ timeout })). Catch HookTimeoutError in the workflow to go on without it, or give a longer timeout.');
    this.token = token;
  }
}

/**
 * `resumeHooks({ tag })` found more live hooks with the tag than the call may
 * resume (`maxHooks`); nothing was written.
 */
export class TooManyHooksError extends WorkflowError {
  /** Live hooks with the tag when the call was refused. */
  readonly count: number;
  /** The call's `maxHooks`. */
  readonly limit: number;
  constructor(count: number, limit: number) {
    super(
      `resumeHooks(): ${count} live hooks have this tag, over the call's limit of ${limit}; nothing was resumed. ` +
        'Raise maxHooks (at most 100000), or split the hooks over more specific tags.',
    );
    this.count = count;
    this.limit = limit;
  }
}

/** A serialised payload or argument is larger than the configured limit. */
export class PayloadTooLargeError extends WorkflowError {
  readonly size: number;
  readonly limit: number;
  constructor(size: number, limit: number, what = 'payload') {
    super(
      `The ${what} is ${size} bytes once serialised, over the limit of ${limit} bytes. ` +
        'Send a reference (an id or URL) instead, or raise `maxPayloadBytes` with configure().',
    );
    this.size = size;
    this.limit = limit;
  }
}

/** What a SerializationError message ends with unless the problem has a more specific fix. */
const DATA_HINT =
  'Payloads, arguments and results must be data ' +
  '(objects, arrays, strings, numbers, booleans, null, undefined, Date, Map, Set, BigInt, RegExp, Error, URL).';

/**
 * A value cannot be stored: superjson would not round-trip it (a function, a
 * symbol, a Promise...), or it is nested deeper than the limit. Nothing was written.
 */
export class SerializationError extends WorkflowError {
  /**
   * Where in the value the problem is, by position and type — never by key
   * name (keys are user data), e.g. `payload → object property #2 → array index 1`.
   */
  readonly path: string;
  /** The depth limit the value went over, when it is nested too deeply; otherwise undefined. */
  readonly maxDepth: number | undefined;
  constructor(path: string, problem: string, opts: { hint?: string; maxDepth?: number } = {}) {
    super(`Cannot serialise ${path}: ${problem}. ${opts.hint ?? DATA_HINT}`);
    this.path = path;
    this.maxDepth = opts.maxDepth;
  }
}

/**
 * A stored value holds an instance of a class that the process which wrote it
 * registered with `registerSerializableClass()`, and this process did not:
 * the value is not read, rather than read with a plain object in the
 * instance's place. Register the class in every process that writes or reads
 * it — the API side and every worker.
 */
export class UnregisteredClassError extends WorkflowError {
  /** The id the class was registered with where the value was written. */
  readonly classId: string;
  constructor(classId: string) {
    const id = JSON.stringify(classId);
    super(
      `Cannot read a stored value: it holds an instance of the class registered as ${id}, and no class is registered as ${id} in this process. ` +
        `Call registerSerializableClass(TheClass, ${id}) in every process that writes or reads such values (the API side and every worker) before they are read.`,
    );
    this.classId = classId;
  }
}

/** An argument has the wrong type or shape; nothing was written. */
export class InvalidArgumentError extends WorkflowError {}

/** No run with this id exists (or it has expired from Redis). */
export class WorkflowRunNotFoundError extends WorkflowError {
  readonly runId: string;
  constructor(runId: string) {
    super(`Workflow run "${runId}" not found`);
    this.runId = runId;
  }
}

/** The run ended with an error; `returnValue` rejects with this. */
export class WorkflowRunFailedError extends WorkflowError {
  readonly runId: string;
  /** The stored error: `{ name, message, stack }`. */
  readonly error: { name?: string; message: string; stack?: string };
  constructor(runId: string, error: { name?: string; message: string; stack?: string }) {
    super(`Workflow run "${runId}" failed: ${error.message}`);
    this.runId = runId;
    this.error = error;
  }
}

/** The run was cancelled; `returnValue` rejects with this. */
export class WorkflowRunCancelledError extends WorkflowError {
  readonly runId: string;
  constructor(runId: string) {
    super(`Workflow run "${runId}" was cancelled`);
    this.runId = runId;
  }
}

/** `start()` or a worker met a workflow name that no `defineWorkflow` registered. */
export class WorkflowNotRegisteredError extends WorkflowError {
  readonly workflowName: string;
  /** The version asked for, when one was. */
  readonly version: string | undefined;
  constructor(workflowName: string, version?: string) {
    const call = version === undefined ? `defineWorkflow("${workflowName}", ...)` : `defineWorkflow("${workflowName}", fn, { version: '${version}' })`;
    super(
      `No workflow is registered as "${workflowName}"${version === undefined ? '' : ` version '${version}'`}. Import the module that calls ${call} ` +
        'before start(), and pass it to createWorker({ workflows }).',
    );
    this.workflowName = workflowName;
    this.version = version;
  }
}

/** A step name that no `defineStep` registered in this process. */
export class StepNotRegisteredError extends WorkflowError {
  readonly stepName: string;
  constructor(stepName: string) {
    super(`No step is registered as "${stepName}" in this worker. Import the module that defines it in the worker process.`);
    this.stepName = stepName;
  }
}

/** The workflow code no longer makes the calls recorded in its event log. */
export class NondeterminismError extends WorkflowError {}

/**
 * Workflow code called something that cannot be replayed (a real timer):
 * use `sleep()` in the workflow, or do it in a step. As in the official SDK,
 * where workflow code runs in a sandbox without timers.
 */
export class UnavailableInWorkflowError extends WorkflowError {}

/** The transition is not allowed in the entity's current state (a duplicate or a late write). */
export class EntityConflictError extends WorkflowError {}

/** The run has already finished; the write was refused. */
export class RunExpiredError extends WorkflowError {
  readonly runId: string;
  /** How it finished ('completed', 'failed', 'cancelled'), when the refusing script said. */
  readonly status: string | undefined;
  constructor(runId: string, status?: string) {
    super(`Workflow run "${runId}" has already finished`);
    this.runId = runId;
    this.status = status;
  }
}

/**
 * Redis could not be reached: the first connection of the runtime API or of a
 * worker did not become ready within the connect timeout (nothing was sent).
 * The next call of the runtime API tries to connect again.
 */
export class RedisUnavailableError extends WorkflowError {
  /** Where it tried to connect: `host:port` (or the socket path, or the cluster nodes); never credentials. */
  readonly address: string;
  /** Why the connection failed, e.g. `connect ECONNREFUSED 127.0.0.1:6379`. */
  readonly reason: string;
  /** How long it tried, in ms. */
  readonly timeoutMs: number;
  constructor(address: string, reason: string, timeoutMs: number) {
    super(
      `Cannot connect to Redis at ${address} within ${timeoutMs} ms (${reason}). ` +
        'Is Redis running and reachable at that address? Check REDIS_URL or the connection option.',
    );
    this.address = address;
    this.reason = reason;
    this.timeoutMs = timeoutMs;
  }
}

/** A step was delivered before its retry time. */
export class TooEarlyError extends WorkflowError {
  /** Epoch milliseconds at which the step may start. */
  readonly retryAt: number;
  constructor(retryAt: number) {
    super(`Too early: retry at ${new Date(retryAt).toISOString()}`);
    this.retryAt = retryAt;
  }
}

/** Another worker took over the run; this worker's writes were refused. */
export class FencedError extends WorkflowError {}

/**
 * A strict commit found events the replay has not seen (internal: the worker
 * fed step results ahead of the log and must not commit what followed from them).
 */
export class StaleCommitError extends WorkflowError {}

/**
 * The run's event log no longer holds an event the replay consumed: Redis lost
 * acknowledged writes (a failover to a replica behind its master, a restart
 * from an older snapshot or an `everysec` AOF). Internal: the worker drops
 * what it holds in memory and replays the run from the log as it is now.
 */
export class EventLogRewoundError extends WorkflowError {}

/** Another worker holds the run's replay lease. */
export class LeaseBusyError extends WorkflowError {
  readonly retryInMs: number;
  constructor(retryInMs: number) {
    super('The run is being replayed by another worker');
    this.retryInMs = retryInMs;
  }
}

/** Throw from a step to fail it at once, with no retry. */
export class FatalError extends Error {
  readonly fatal = true;
  constructor(message: string) {
    super(message);
    this.name = 'FatalError';
    Object.setPrototypeOf(this, new.target.prototype);
  }
  /** True when `err` is a FatalError (matched by name). */
  static is(err: unknown): err is FatalError {
    return err instanceof Error && err.name === 'FatalError';
  }
}

/** Options of {@link RetryableError}. */
export interface RetryableErrorOptions {
  /** Delay before the next attempt: milliseconds, a duration string (`'2s'`) or a Date. */
  retryAfter?: number | string | Date;
}

/** Throw from a step to retry it after a delay (counts against `maxRetries`). */
export class RetryableError extends Error {
  readonly retryAfter: number | string | Date | undefined;
  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message);
    this.name = 'RetryableError';
    this.retryAfter = options.retryAfter;
    Object.setPrototypeOf(this, new.target.prototype);
  }
  /** True when `err` is a RetryableError (matched by name). */
  static is(err: unknown): err is RetryableError {
    return err instanceof Error && err.name === 'RetryableError';
  }
}

/**
 * A chunk was written to a run's stream that is closed already (its writer
 * called `close()`, or the run ended). Nothing was appended.
 */
export class StreamClosedError extends WorkflowError {
  readonly runId: string;
  readonly namespace: string;
  constructor(runId: string, namespace: string) {
    super(
      `The stream ${namespace === '' ? '(main)' : `"${namespace}"`} of run "${runId}" is closed: nothing was written. ` +
        'A stream ends when its writer calls close() or when the run ends; write to another namespace, or before closing.',
    );
    this.runId = runId;
    this.namespace = namespace;
  }
}
