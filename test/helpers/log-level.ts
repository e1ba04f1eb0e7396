/**
 * Loaded by mocha before the specs (.mocharc.json `require`): the default
 * logger of workers and clients made without a `logger` logs at 'warn'
 * during tests, as before lifecycle lines existed, so the test output stays
 * readable. Child processes (CLI, worker processes) inherit it. Tests of the
 * lines pass `logLevel` / `--log-level` themselves; an explicit
 * WORKFLOW_REDIS_LOG_LEVEL in the environment wins.
 */
process.env.WORKFLOW_REDIS_LOG_LEVEL ??= 'warn';
