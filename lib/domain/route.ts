/**
 * Workflow versions and routes: a run is pinned to the workflow name and
 * version it started on, and only a worker that registers that pair (its
 * route, `name@version`) takes its jobs. The rules live here, beside the
 * prefix check, because the authoring API, the runtime, the store and the CLI
 * all check versions and print routes; this module imports nothing.
 */

/** The version of a workflow defined without one (`defineWorkflow(name, fn)`), and of runs stored before versions existed. */
export const DEFAULT_WORKFLOW_VERSION = '1';

const VERSION_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** True for a valid version: 1-64 letters, digits or `_ . -` (no `@`, so `name@version` splits at its last `@`). */
export function isValidVersion(version: unknown): version is string {
  return typeof version === 'string' && VERSION_RE.test(version);
}

/** What is wrong with `version`, as the message to show, or undefined when it is valid. */
export function versionProblem(version: unknown): string | undefined {
  if (isValidVersion(version)) return undefined;
  return `Invalid workflow version ${JSON.stringify(version)}: use a string of 1-64 letters, digits, '_', '.' or '-' (e.g. '2' or '2026-12-02').`;
}

/** A workflow name and version: what a run is pinned to and what a worker registers. */
export interface Route {
  workflowName: string;
  version: string;
}

/** The route's id, `name@version`, as logs, the registry and operators spell it. */
export function routeId(r: Route): string {
  return `${r.workflowName}@${r.version}`;
}

/** Splits a route id at its last `@` (names may contain `@`, versions may not); undefined if it is not one. */
export function parseRouteId(id: string): Route | undefined {
  const at = id.lastIndexOf('@');
  if (at <= 0) return undefined;
  const version = id.slice(at + 1);
  return isValidVersion(version) ? { workflowName: id.slice(0, at), version } : undefined;
}

/** The text an operator sees for a run whose route no live worker registers. */
export function waitingForWorkerText(r: Route): string {
  return `waiting for a worker that registers ${routeId(r)}`;
}
