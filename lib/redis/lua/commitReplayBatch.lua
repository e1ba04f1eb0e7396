--[[
  commitReplay for several runs in one call: a worker replaying many runs at
  once sends their commits together (one round trip, one script call). Each
  run's commit is independent and atomic on its own terms, exactly as in
  commitReplay.lua; a run whose commit fails does not affect the others.
  All keys share the prefix's hash tag, so the batch is Redis Cluster-valid.

  KEYS[1] token hash   KEYS[2..6] status indexes (pending, running, completed, failed, cancelled)
  KEYS[7] expiring runs index
  then per run i (from 0), at 8 + 8i: run hash, run stream, steps, waits, run hooks, replay lease, run resumes,
  the run's streams hash
  ARGV[1] run-finished pub/sub channel
  then per run i, at 2 + 6i: epoch, ops (JSON), cursor, strict ('1'/''), lease owner to release (''),
  start spec ('' or a new run's, see includes/startRun.lua)
  (includes/commitRun.lua: each run's commit as a table of these, named)

  Returns one reply per run, in order: what commitReplay.lua returns, or
  {-100, message} when that run's commit raised an error.
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

local statusKeys = statusKeyMap(2)
local now = nowMs()
local replies = {}
local n = (#KEYS - 7) / 8
for i = 0, n - 1 do
  local k, a = 8 + 8 * i, 2 + 6 * i
  local ok, reply = pcall(commitRun, {
    runKey = KEYS[k], streamKey = KEYS[k + 1], stepsKey = KEYS[k + 2], waitsKey = KEYS[k + 3], runHooksKey = KEYS[k + 4],
    leaseKey = KEYS[k + 5], resumesKey = KEYS[k + 6], streamsKey = KEYS[k + 7], hooksKey = KEYS[1], statusKeys = statusKeys, expiringKey = KEYS[7],
    epoch = ARGV[a], opsJson = ARGV[a + 1], cursor = ARGV[a + 2], strict = ARGV[a + 3], owner = ARGV[a + 4],
    start = ARGV[a + 5], channel = ARGV[1], now = now,
  })
  if not ok then reply = { ERR_SCRIPT, tostring(reply) }
  elseif type(reply) == 'table' and reply.err then reply = { ERR_SCRIPT, reply.err } end
  replies[i + 1] = reply
end
return replies
