--[[
  Puts a pending or running run on the workflow queue (reconciler, operator
  tools). Deduplicated like every wake-up: a waiting job absorbs it, an active
  one gets a follow-up.

  KEYS[1] run hash   KEYS[2..10] BullMQ addStandardJob keys of the workflow queue
  (no ARGV: the job template is compiled in, see includes/enqueueReplay.lua)

  Returns {0, jobId} | {-1} no run | {-2, status} run finished
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "runStatus"
--- @include "enqueueReplay"

local r = redis.call('HMGET', KEYS[1], 'status', 'runId')
if not r[1] then return { ERR_RUN_NOT_FOUND } end
if TERMINAL[r[1]] then return { ERR_RUN_EXPIRED, r[1] } end
return { OK, enqueueReplay(r[2], nowMs()) }
