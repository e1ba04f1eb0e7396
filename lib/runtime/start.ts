/** start(): creates a run and schedules it, atomically; idempotent with a run id or key. */
import { InvalidArgumentError, WorkflowNotRegisteredError } from '../errors/errors.js';
import { getWorkflow, workflowVersions, type Workflow } from '../authoring/registry.js';
import { routeId, versionProblem } from '../domain/route.js';
import { serialize, serializeLimited } from '../serialization/codec.js';
import { getConfig, getStore, retentionMs } from './config.js';
import { newRunId } from './ids.js';
import { assertOutsideWorkflow } from './outside-workflow.js';
import { Run } from './run.js';
import { assertRunId, assertToken } from './validate.js';

/** Options of {@link start}. */
export interface StartOptions {
  /** Use this run id; starting again with the same id returns the same run. */
  runId?: string;
  /** Starting again with the same key returns the first run. */
  idempotencyKey?: string;
  /**
   * The workflow version to start, when this process registers several
   * versions of it (default: the one it registers, or the handle's own version).
   */
  version?: string;
  /**
   * Claims a hook token with the run, in the same script that creates it:
   * from the moment start() returns, `resumeHook(token, …)` succeeds and its
   * payloads are kept in order until the workflow's `createHook({ token })`
   * (same token) adopts the hook and receives them. Rejects with
   * `HookConflictError`, writing nothing, when another live hook holds the
   * token. A run that ends without adopting it releases the token as usual.
   */
  hook?: StartHook;
  /** The official SDK's name of {@link StartOptions.hook} (give one of the two). */
  experimental_hook?: StartHook;
}

/** The hook {@link start} claims with the run. */
export interface StartHook {
  /** The token (unique among live hooks; at most 256 bytes). */
  token: string;
  /** Data stored with the hook, returned by `getHookByToken` (the workflow's createHook({ metadata }) replaces it). */
  metadata?: unknown;
}

/** The claim of `opts.hook` (or `experimental_hook`), checked and serialised; undefined when none. */
function startClaim(opts: StartOptions): { token: string; metadata?: string; data: string } | undefined {
  if (opts.hook !== undefined && opts.experimental_hook !== undefined) {
    throw new InvalidArgumentError('start(workflow, args, { hook, experimental_hook }): give one of them (experimental_hook is the same option).');
  }
  const hook = opts.hook ?? opts.experimental_hook;
  if (hook === undefined) return undefined;
  if (hook === null || typeof hook !== 'object') throw new InvalidArgumentError("start(workflow, args, { hook }): pass { token: '...', metadata? }.");
  assertToken(hook.token);
  const metadata = hook.metadata === undefined ? undefined : serialize(hook.metadata, 'hook metadata');
  return { token: hook.token, metadata, data: serialize({ token: hook.token, isWebhook: false, claimed: true }) };
}

/**
 * The registered workflow version a start() call means: the handle's own
 * (checked against `version` when both are given), else the only version of
 * the name registered here, else the one `version` names.
 */
function chooseVersion(workflow: Workflow | string, name: string, version: string | undefined): Workflow {
  if (version !== undefined) {
    const problem = versionProblem(version);
    if (problem) throw new InvalidArgumentError(`start(workflow, args, { version }): ${problem}`);
  }
  if (typeof workflow !== 'string') {
    if (version !== undefined && version !== workflow.version) {
      throw new InvalidArgumentError(
        `start(): the handle is ${routeId(workflow)} but { version: '${version}' } was given: pass the handle of that version, or drop the option.`,
      );
    }
    if (!getWorkflow(name, workflow.version)) throw new WorkflowNotRegisteredError(name, workflow.version);
    return workflow;
  }
  const versions = workflowVersions(name);
  if (version !== undefined) {
    const wf = getWorkflow(name, version);
    if (!wf) throw new WorkflowNotRegisteredError(name, version);
    return wf;
  }
  if (versions.length === 0) throw new WorkflowNotRegisteredError(name);
  if (versions.length > 1) {
    throw new InvalidArgumentError(
      `start('${name}'): this process registers ${versions.length} versions of it (${versions.map((w) => w.version).join(', ')}): ` +
        `choose one with start('${name}', args, { version }) or pass the handle defineWorkflow returned.`,
    );
  }
  return versions[0]!;
}

/**
 * Starts a workflow run: writes `run_created` and puts the run on its route's
 * queue (`workflows/<name>@<version>`) in one script; the run is pinned to that
 * version. Unknown workflows and versions, an ambiguous version, and arguments
 * that cannot be serialised are rejected before anything is written; so is a
 * call made in workflow code (`UnavailableInWorkflowError`: start runs from a step).
 * With `{ hook }` the run claims a hook token in the same script (see {@link StartOptions.hook}).
 */
export async function start<Args extends unknown[], R>(
  workflow: Workflow<Args, R> | string,
  args: Args | [] = [],
  opts: StartOptions = {},
): Promise<Run<R>> {
  assertOutsideWorkflow('start()');
  const name = typeof workflow === 'string' ? workflow : workflow?.workflowName;
  if (typeof name !== 'string') throw new WorkflowNotRegisteredError(String(name));
  if (opts === null || typeof opts !== 'object') throw new InvalidArgumentError('start(workflow, args, opts): opts must be an object.');
  const { version } = chooseVersion(workflow, name, opts.version);
  if (!Array.isArray(args)) throw new InvalidArgumentError('start(workflow, args): args must be an array of arguments.');
  if (opts.runId !== undefined) assertRunId(opts.runId);
  if (opts.idempotencyKey !== undefined && (typeof opts.idempotencyKey !== 'string' || opts.idempotencyKey.length === 0 || opts.idempotencyKey.length > 512)) {
    throw new InvalidArgumentError('idempotencyKey must be a non-empty string of at most 512 characters.');
  }
  // Each argument may be as deep as a hook payload (maxPayloadDepth); the list itself does not count.
  const input = serializeLimited(args, getConfig().maxPayloadBytes, 'workflow arguments', {
    maxDepth: getConfig().maxPayloadDepth,
    argumentList: true,
  });
  const data = serializeLimited({ workflowName: name, version }, getConfig().maxPayloadBytes, 'run data');
  const claim = startClaim(opts);
  const store = await getStore();
  const { runId } = await store.createRun({
    runId: opts.runId ?? newRunId(),
    workflowName: name,
    version,
    input,
    data,
    idempotencyKey: opts.idempotencyKey,
    retentionMs: getConfig().retention === undefined ? undefined : retentionMs(getConfig().retention!),
    claim,
  });
  return new Run<R>(runId);
}
