/**
 * The library's log sink. The `logger` option of `createWorker()` and
 * `configure()` takes either a function `(level, msg, fields) => void` (the
 * original form) or a structured logger object with pino's signature
 * (`logger.info(fields, msg)`: pino itself, or anything with the same methods).
 * Without one, lines go to a pino logger writing JSON lines on stderr.
 *
 * Why pino: it is the de facto structured logger of Node services (Fastify's,
 * and the usual choice in Nest and Express apps), writes one JSON object per
 * line with negligible overhead, and an app that already uses it can pass its
 * own instance (or a child) so workflow-redis lines join the app's.
 *
 * Fields never contain hook tokens, payloads, payload key names or webhook
 * URLs: callers pass ids, names, counts and error names and messages.
 */
import { pino, type Logger as PinoLogger } from 'pino';
import { InvalidArgumentError } from '../errors/errors.js';

/** Severity of a line, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** A level setting: the lowest level emitted, or `'silent'` for none. */
export type LogLevelSetting = LogLevel | 'silent';

/** The levels a {@link LogLevelSetting} accepts. */
export const LOG_LEVELS: readonly LogLevelSetting[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The level of the default logger when neither `logLevel` nor `WORKFLOW_REDIS_LOG_LEVEL` is set. */
export const DEFAULT_LOG_LEVEL: LogLevelSetting = 'info';

/** Environment variable read by the default logger when no `logLevel` option is given. */
export const LOG_LEVEL_ENV = 'WORKFLOW_REDIS_LOG_LEVEL';

/** A log sink as a function. `fields` never contain hook tokens or payloads. */
export type Logger = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void;

/**
 * A structured logger with pino's call signature, `(fields, msg)`: a pino
 * instance (or child), or any object with these methods.
 */
export interface StructuredLogger {
  debug?(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** What the `logger` option accepts: a {@link Logger} function or a {@link StructuredLogger} (e.g. a pino instance). */
export type LoggerOption = Logger | StructuredLogger;

const RANK: Record<LogLevelSetting, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

function isLevel(v: unknown): v is LogLevelSetting {
  return typeof v === 'string' && (LOG_LEVELS as readonly string[]).includes(v);
}

/** Throws InvalidArgumentError unless `level` is a level setting (undefined passes). */
export function checkLogLevel(level: unknown, what = 'logLevel'): void {
  if (level !== undefined && !isLevel(level)) {
    throw new InvalidArgumentError(`${what} must be one of ${LOG_LEVELS.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(level)}.`);
  }
}

/** Throws InvalidArgumentError unless `logger` is a function or a structured logger (undefined passes). */
export function checkLogger(logger: unknown): void {
  if (logger === undefined || typeof logger === 'function') return;
  const o = logger as Record<string, unknown> | null;
  if (o && typeof o === 'object' && ['info', 'warn', 'error'].every((m) => typeof o[m] === 'function')) return;
  throw new InvalidArgumentError(
    'logger must be a function (level, msg, fields) => void, or a logger object with info/warn/error (and debug) methods ' +
      'taking (fields, msg), such as a pino instance.',
  );
}

/** The level of the default logger: the option, else `WORKFLOW_REDIS_LOG_LEVEL`, else 'info'. */
export function defaultLogLevel(option?: LogLevelSetting): LogLevelSetting {
  if (option !== undefined) return option;
  const env = process.env[LOG_LEVEL_ENV]?.trim().toLowerCase();
  if (env === undefined || env === '') return DEFAULT_LOG_LEVEL;
  // A typo in the environment must not stop a worker: fall back, and say so once.
  if (!isLevel(env)) {
    warnBadEnv(env);
    return DEFAULT_LOG_LEVEL;
  }
  return env;
}

let warnedEnv = false;
function warnBadEnv(value: string): void {
  if (warnedEnv) return;
  warnedEnv = true;
  pinoFor('warn').warn(
    { variable: LOG_LEVEL_ENV },
    `${LOG_LEVEL_ENV}=${JSON.stringify(value)} is not a level: using '${DEFAULT_LOG_LEVEL}' (use one of ${LOG_LEVELS.join(', ')})`,
  );
}

/** One pino logger per level, shared by every default sink of the process (one stderr writer). */
const pinos = new Map<LogLevelSetting, PinoLogger>();

function pinoFor(level: LogLevelSetting): PinoLogger {
  let p = pinos.get(level);
  if (!p) {
    p = pino(
      {
        level,
        name: 'workflow-redis',
        // Level names rather than numbers, and ISO times: lines read as they did before pino.
        formatters: { level: (label) => ({ level: label }) },
        timestamp: pino.stdTimeFunctions.isoTime,
      },
      // Synchronous writes: a CLI that exits right after a line must not lose it.
      pino.destination({ dest: 2, sync: true }),
    );
    pinos.set(level, p);
  }
  return p;
}

/** The default sink: a pino logger at `level` writing JSON lines on stderr. */
export function defaultLogger(level: LogLevelSetting = defaultLogLevel()): Logger {
  return fromStructured(pinoFor(level));
}

function fromStructured(s: StructuredLogger): Logger {
  return (level, msg, fields) => {
    const method = s[level];
    if (typeof method === 'function') method.call(s, fields ?? {}, msg);
  };
}

/**
 * The sink the library calls, from the `logger` and `logLevel` options.
 * `logLevel` (default: `WORKFLOW_REDIS_LOG_LEVEL`, else 'info') filters the
 * lines of the default pino logger and of a function logger. A structured
 * logger (a pino instance) gets every line at or above its own level, and
 * `logLevel`, when given, filters on top. A sink that throws never breaks
 * the caller.
 */
export function resolveLogger(logger: LoggerOption | undefined, logLevel?: LogLevelSetting): Logger {
  let sink: Logger;
  let min: number;
  if (logger !== undefined && typeof logger === 'object') {
    sink = fromStructured(logger);
    min = logLevel === undefined ? -Infinity : RANK[logLevel];
  } else {
    const level = defaultLogLevel(logLevel);
    sink = logger ?? defaultLogger(level);
    min = RANK[level];
  }
  return (level, msg, fields) => {
    if (RANK[level] < min) return;
    try {
      sink(level, msg, fields);
    } catch {
      /* a broken log sink must not fail a replay or a step */
    }
  };
}
