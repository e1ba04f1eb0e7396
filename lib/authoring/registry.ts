/**
 * Workflows and steps are plain functions registered by name (no compiler).
 * Names are stored in the event log: keep them stable across deploys.
 * Workflows are registered by name and version (their route, `name@version`):
 * several versions of one workflow may live side by side in one process.
 */
import { InvalidArgumentError } from '../errors/errors.js';
import { routeId } from '../domain/route.js';

/** A registered workflow: pass it to `start()` and to `createWorker({ workflows })`. */
export interface Workflow<Args extends unknown[] = any[], R = any> {
  readonly workflowName: string;
  /** The version its runs are pinned to (`defineWorkflow(name, fn, { version })`; default `'1'`). */
  readonly version: string;
  readonly fn: (...args: Args) => Promise<R> | R;
}

/** Options of a step. */
export interface StepOptions {
  /** Retries after the first attempt (default 3, so 4 attempts). `0` = one attempt. */
  maxRetries?: number;
}

/** A registered step. */
export interface StepDefinition<Args extends unknown[] = any[], R = any> {
  readonly stepName: string;
  readonly fn: (...args: Args) => Promise<R> | R;
  readonly maxRetries: number;
}

const workflows = new Map<string, Workflow>();
const steps = new Map<string, StepDefinition>();

const NAME_RE = /^[A-Za-z0-9_.:/@-]{1,200}$/;

/** True for a valid workflow or step name: 1-200 letters, digits or `_ . : / @ -`. */
export function isValidName(name: unknown): name is string {
  return typeof name === 'string' && NAME_RE.test(name);
}

export function assertName(kind: 'workflow' | 'step', name: unknown): asserts name is string {
  if (!isValidName(name)) {
    throw new InvalidArgumentError(
      `Invalid ${kind} name ${JSON.stringify(name)}: use 1-200 letters, digits or '_ . : / @ -'.`,
    );
  }
}

/** Registers (or, for hot reload and tests, replaces) a workflow version: the log refers to it by name, a run to its version. */
export function registerWorkflow(w: Workflow): void {
  workflows.set(routeId(w), w);
}

export function registerStep(s: StepDefinition): void {
  steps.set(s.stepName, s);
}

/** The workflow registered under `name` and `version`, if any. */
export function getWorkflow(name: string, version: string): Workflow | undefined {
  return workflows.get(routeId({ workflowName: name, version }));
}

/** Every version of `name` registered in this process, in registration order. */
export function workflowVersions(name: string): Workflow[] {
  return [...workflows.values()].filter((w) => w.workflowName === name);
}

/** The step registered under `name`, if any. */
export function getStep(name: string): StepDefinition | undefined {
  return steps.get(name);
}

/** Every workflow registered in this process (CLI worker, tools). */
export function listWorkflows(): Workflow[] {
  return [...workflows.values()];
}
