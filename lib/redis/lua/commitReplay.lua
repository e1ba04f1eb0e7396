--[[
  Commits what one replay decided, atomically and fenced by the run's epoch:
  step_created / step_started / step_completed / step_failed / step_retrying,
  hook_created (token claim, or a stored hook_conflict), hook_adopted (the
  workflow takes the hook start() claimed), hook_disposed,
  wait_created / wait_completed, run_completed / run_failed.
  Each op follows the official state machines; an op the state refuses is
  reported in the results and writes nothing.

  The events this script appends are not read back: the caller knows their
  type, correlation id and data, and gets their ids and server time in the
  results. Only events the caller has not seen (appended by others since its
  cursor) are returned.

  KEYS[1] run hash     KEYS[2] run stream   KEYS[3] steps   KEYS[4] waits
  KEYS[5] run hooks    KEYS[6] token hash   KEYS[7] replay lease
  KEYS[8..12] status indexes (pending, running, completed, failed, cancelled)
  KEYS[13] run resumes   KEYS[14] expiring runs index (retention: see includes/finishRun.lua)
  KEYS[15] the run's streams hash (closed with the run)
  ARGV[1] epoch ('' = not fenced: store-level callers and tests)
  ARGV[2] ops (JSON array, see lib/redis/store-types.ts CommitOp); an op's wc
          (worker clock) is stored on its event. Step ops carry one: step
          results, and the step_created / step_started of an inline step
          recorded after it ran (step_started then also takes it as the
          step's first start time)
  ARGV[3] the caller's cursor: last event id it consumed ('' = return no events)
  ARGV[4] run-finished pub/sub channel
  ARGV[5] '1' = strict: refuse (write nothing) when the stream has events after
          the cursor (the caller fed step results ahead of the log)
  ARGV[6] lease owner to release after the commit ('' = keep the lease); the
          lease is kept when events after the cursor are returned
  ARGV[7] '' or a new run's start spec: take the lease and append run_started
          first (see includes/startRun.lua; ARGV[1] is then '')

  (includes/commitRun.lua: the commit as a table of these, named)

  Returns {0, resultsJSON, events after the cursor (not ours), now, released,
           epoch the start took (0 = no start), run_started id ('' = no start)}
          | {-1} no run | {-2, status} run finished
          | {-6} fenced: another worker took the run over
          | {-11} strict and the stream has events after the cursor, or a
                  start spec for a run that is not new (nothing written)
          | {-12} the stream no longer holds the cursor: it lost writes the
                  caller consumed (nothing written; replay from the log)
  resultsJSON: one result per op (lib/redis/store-types.ts CommitResult):
    r = 'ok' (id = its event's id; step_started: attempt, startedAt)
      | 'exists' | 'missing' | 'too_early' (at = the retry / resume time)
      | 'conflict' (hook_created whose token another run holds: id of the
        stored hook_conflict, conflictingRunId, d = its data)
      | 'skipped' (an op after the one that ended the run)
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"
--- @include "stepState"
--- @include "waitState"
--- @include "releaseRunHooks"
--- @include "streamEnd"
--- @include "finishRun"
--- @include "startRun"
--- @include "commitRun"

return commitRun({
  runKey = KEYS[1], streamKey = KEYS[2], stepsKey = KEYS[3], waitsKey = KEYS[4], runHooksKey = KEYS[5],
  hooksKey = KEYS[6], leaseKey = KEYS[7], statusKeys = statusKeyMap(8), resumesKey = KEYS[13], expiringKey = KEYS[14], streamsKey = KEYS[15],
  epoch = ARGV[1], opsJson = ARGV[2], cursor = ARGV[3], channel = ARGV[4], strict = ARGV[5], owner = ARGV[6],
  start = ARGV[7], now = nowMs(),
})
