--[[
  step_completed / step_failed / step_retrying for a step run by the step
  queue. Completion and failure wake the run in the same script (single
  winner: a second result for the same step writes nothing).

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] steps
  KEYS[4..12] BullMQ addStandardJob keys of the workflow queue
  ARGV[1] step id    ARGV[2] event type   ARGV[3] event data (superjson)
  ARGV[4] retry at (ms, step_retrying only)

  Returns {0, eventId} | {-1} | {-2, status} run finished
          | {-8} no such step | {-3, status} the step already has a result
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "enqueueReplay"

local r = redis.call('HMGET', KEYS[1], 'status', 'runId')
local status, runId = r[1], r[2]
if not status then return { ERR_RUN_NOT_FOUND } end
if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { ERR_STEP_NOT_FOUND, ARGV[1] } end
local st = cjson.decode(raw)
if st.s == 'completed' or st.s == 'failed' then return { ERR_ENTITY_CONFLICT, st.s } end

local t = ARGV[2]
if t == 'step_completed' then st.s = 'completed'
elseif t == 'step_failed' then st.s = 'failed'
else st.s = 'pending'; st.ra = tonumber(ARGV[4]) end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(st))
local now = nowMs()
local id = appendEvent(KEYS[2], KEYS[1], t, ARGV[1], ARGV[3], now)
if t ~= 'step_retrying' then enqueueReplay(runId, now) end
return { OK, id }
