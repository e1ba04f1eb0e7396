/**
 * The statuses of a run: a fact of the domain, not of its storage.
 *
 * Why lib/domain: every floor needs them — the store indexes runs by status
 * (lib/redis/keys.ts), the runtime API returns and filters by them, the CLI
 * and the HTTP routes accept them as input — and the adapters (lib/cli,
 * lib/integrations) must not reach into lib/redis for a constant. lib/runtime
 * would not do: it sits above lib/redis, which may not import upwards. So the
 * statuses live on the bottom floor, beside lib/errors, and import nothing.
 *
 * The Lua scripts mirror the order (`runStatus.lua`, `pruneRuns.lua`), and the
 * status index keys follow it (`Keyspace.statusKeys()`).
 */

/** Run statuses, in the order the run hash, the status indexes and the Lua scripts use. */
export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled'] as const;

/** The status of a run. */
export type RunStatus = (typeof RUN_STATUSES)[number];

/** The statuses of a finished run: it never changes status again. */
export const TERMINAL_RUN_STATUSES = ['completed', 'failed', 'cancelled'] as const satisfies readonly RunStatus[];

/** Is `value` one of {@link RUN_STATUSES}? */
export function isRunStatus(value: unknown): value is RunStatus {
  return (RUN_STATUSES as readonly unknown[]).includes(value);
}

/** Has a run of this status finished (completed, failed or cancelled)? */
export function isTerminalStatus(status: string): boolean {
  return (TERMINAL_RUN_STATUSES as readonly string[]).includes(status);
}
