/** start(): creates a run and schedules it, atomically; idempotent with a run id or key. */
import { InvalidArgumentError, WorkflowNotRegisteredError } from '../errors/errors.js';
import { getWorkflow, type Workflow } from '../authoring/registry.js';
import { serializeLimited } from '../serialization/codec.js';
import { getConfig, getStore, retentionMs } from './config.js';
import { newRunId } from './ids.js';
import { Run } from './run.js';
import { assertRunId } from './validate.js';

/** Options of {@link start}. */
export interface StartOptions {
  /** Use this run id; starting again with the same id returns the same run. */
  runId?: string;
  /** Starting again with the same key returns the first run. */
  idempotencyKey?: string;
}

/**
 * Starts a workflow run: writes `run_created` and puts the run on the workflow
 * queue in one script. Unknown workflows and arguments that cannot be
 * serialised are rejected before anything is written.
 */
export async function start<Args extends unknown[], R>(
  workflow: Workflow<Args, R> | string,
  args: Args | [] = [],
  opts: StartOptions = {},
): Promise<Run<R>> {
  const name = typeof workflow === 'string' ? workflow : workflow?.workflowName;
  if (typeof name !== 'string' || !getWorkflow(name)) throw new WorkflowNotRegisteredError(String(name));
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
  const data = serializeLimited({ workflowName: name }, getConfig().maxPayloadBytes, 'run data');
  const store = await getStore();
  const { runId } = await store.createRun({
    runId: opts.runId ?? newRunId(),
    workflowName: name,
    input,
    data,
    idempotencyKey: opts.idempotencyKey,
    retentionMs: getConfig().retention === undefined ? undefined : retentionMs(getConfig().retention!),
  });
  return new Run<R>(runId);
}
