--[[
  commitReplay for several runs in one call: a worker replaying many runs at
  once sends their commits together (one round trip, one script call). Each
  run's commit is independent and atomic on its own terms, exactly as in
  commitReplay.lua; a run whose commit fails does not affect the others.
  All keys share the prefix's hash tag, so the batch is Redis Cluster-valid.

  KEYS[1] token hash   KEYS[2..6] status indexes (pending, running, completed, failed, cancelled)
  KEYS[7] expiring runs index
  then per run i (from 0), at 8 + 7i: run hash, run stream, steps, waits, run hooks, replay lease, run resumes
  ARGV[1] run-finished pub/sub channel
  then per run i, at 2 + 6i: epoch, ops (JSON), cursor, strict ('1'/''), lease owner to release (''),
  start spec ('' or a new run's, see includes/startRun.lua)

  Returns one reply per run, in order: what commitReplay.lua returns, or
  {-100, message} when that run's commit raised an error.
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "releaseRunHooks"
--- @include "finishRun"
--- @include "startRun"
--- @include "commitRun"

local statusKeys = statusKeyMap(2)
local now = nowMs()
local replies = {}
local n = (#KEYS - 7) / 7
for i = 0, n - 1 do
  local k, a = 8 + 7 * i, 2 + 6 * i
  local ok, reply = pcall(commitRun, KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4], KEYS[1], KEYS[k + 5],
    statusKeys, ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[1], ARGV[a + 3], ARGV[a + 4], now, KEYS[k + 6], KEYS[7], ARGV[a + 5])
  if not ok then reply = { ERR_SCRIPT, tostring(reply) }
  elseif type(reply) == 'table' and reply.err then reply = { ERR_SCRIPT, reply.err } end
  replies[i + 1] = reply
end
return replies
