--[[
  run_cancelled: a pending or running run ends, its hook tokens are released
  and its waits dropped; later step results are refused (run finished).
  Idempotent on a cancelled run.

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] waits   KEYS[4] run hooks
  KEYS[5] token hash KEYS[6..10] status indexes
  KEYS[11] steps     KEYS[12] run resumes   KEYS[13] expiring runs index
  KEYS[14] the run's streams hash (closed with the run)
  ARGV[1] run-finished channel

  Returns {0, eventId} | {1} already cancelled | {-1} no run
          | {-3, status} the run already completed or failed
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "releaseRunHooks"
--- @include "streamEnd"
--- @include "finishRun"

local r = redis.call('HMGET', KEYS[1], 'status', 'runId')
local status, runId = r[1], r[2]
if not status then return { ERR_RUN_NOT_FOUND } end
if status == 'cancelled' then return { 1 } end
if TERMINAL[status] then return { ERR_ENTITY_CONFLICT, status } end
local id = finishRun(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], statusKeyMap(6), runId, status, 'cancelled',
  'run_cancelled', sjData({}), {}, ARGV[1], nowMs(), { steps = KEYS[11], resumes = KEYS[12], expiring = KEYS[13], streams = KEYS[14] })
return { OK, id }
