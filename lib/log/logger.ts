/**
 * The library's log sink: one function, so an app can route workflow-redis
 * output into its own logger. Fields never contain hook tokens, payloads,
 * payload key names or webhook URLs: callers pass ids, names and counts.
 */

/** A log sink. `fields` never contain hook tokens or payloads. */
export type Logger = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** Default sink: warnings and errors as one JSON line each on stderr; info is dropped. */
export const defaultLogger: Logger = (level, msg, fields) => {
  if (level === 'info') return;
  process.stderr.write(`${JSON.stringify({ level, msg, ...fields, time: new Date().toISOString() })}\n`);
};
