/** defineWorkflow and defineStep: plain functions registered by name. */
import { InvalidArgumentError } from '../errors/errors.js';
import { DEFAULT_WORKFLOW_VERSION, versionProblem } from '../domain/route.js';
import { currentExecution } from '../replay/context.js';
import { assertName, registerStep, registerWorkflow, type StepDefinition, type StepOptions, type Workflow } from './registry.js';

/** Options of {@link defineWorkflow}. */
export interface WorkflowOptions {
  /**
   * The version runs started from this definition are pinned to: every replay
   * of such a run goes to a worker that registers this name and version, so
   * code that changes what a run does gets a new version and runs in flight
   * finish on the old one (see README "Deploying new code"). 1-64 letters,
   * digits or `_ . -`. Default `'1'`.
   */
  version?: string;
}

/**
 * Registers an async function as a workflow under a stable name (and
 * version) and returns the handle to pass to `start()` and
 * `createWorker({ workflows })`. The body is replayed from the event log on
 * every wake-up: keep it deterministic (use steps for I/O, `sleep` for time).
 */
export function defineWorkflow<Args extends unknown[], R>(
  name: string,
  fn: (...args: Args) => Promise<R> | R,
  opts: WorkflowOptions = {},
): Workflow<Args, R> {
  assertName('workflow', name);
  if (typeof fn !== 'function') throw new InvalidArgumentError(`defineWorkflow("${name}", fn): fn must be a function.`);
  if (opts === null || typeof opts !== 'object') throw new InvalidArgumentError(`defineWorkflow("${name}", fn, opts): opts must be an object like { version: '2' }.`);
  const version = opts.version === undefined ? DEFAULT_WORKFLOW_VERSION : opts.version;
  const problem = versionProblem(version);
  if (problem) throw new InvalidArgumentError(`defineWorkflow("${name}"): ${problem}`);
  const wf: Workflow<Args, R> = Object.freeze({ workflowName: name, version, fn });
  registerWorkflow(wf as Workflow);
  return wf;
}

/**
 * Registers a step and returns a function with `fn`'s signature. Inside a
 * workflow a call is durable: recorded, run with retries (`maxRetries`,
 * default 3), and its result replayed later. Outside a workflow it simply runs `fn`.
 */
export function defineStep<Args extends unknown[], R>(
  name: string,
  fn: (...args: Args) => Promise<R> | R,
  opts: StepOptions = {},
): ((...args: Args) => Promise<Awaited<R>>) & { readonly stepName: string } {
  assertName('step', name);
  if (typeof fn !== 'function') throw new InvalidArgumentError(`defineStep("${name}", fn): fn must be a function.`);
  const maxRetries = opts.maxRetries ?? 3;
  if (!Number.isInteger(maxRetries) || maxRetries < 0) {
    throw new InvalidArgumentError(`defineStep("${name}"): maxRetries must be an integer >= 0.`);
  }
  const def: StepDefinition<Args, R> = { stepName: name, fn, maxRetries };
  registerStep(def as StepDefinition);
  const call = (...args: Args): Promise<Awaited<R>> => {
    const ex = currentExecution();
    if (!ex) return Promise.resolve().then(() => fn(...args)) as Promise<Awaited<R>>;
    return ex.callStep(name, args, maxRetries) as Promise<Awaited<R>>;
  };
  return Object.assign(call, { stepName: name });
}
