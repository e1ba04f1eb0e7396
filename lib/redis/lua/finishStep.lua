--[[
  step_completed / step_failed / step_retrying for a step run by the step
  queue (includes/stepState.lua settleStep). Completion and failure wake the
  run in the same script (single winner: a second result for the same step
  writes nothing).

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] steps
  ARGV[1] step id    ARGV[2] event type   ARGV[3] event data (superjson)
  ARGV[4] retry at (ms, step_retrying only)

  Returns {0, eventId} | {-1} no run | {-2, status} run finished
          | {-8, stepId} no such step | {-3, status} the step already has a result
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"
--- @include "stepState"
--- @include "enqueueReplay"

local run, err = loadLiveRun(KEYS[1], nil, { 'queue' })
if not run then return err end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { ERR_STEP_NOT_FOUND, ARGV[1] } end
local st = cjson.decode(raw)
local t = ARGV[2]
if settleStep(st, t, tonumber(ARGV[4])) then return { ERR_ENTITY_CONFLICT, st.s } end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(st))
local now = nowMs()
local id = appendEvent(KEYS[2], KEYS[1], t, ARGV[1], ARGV[3], now)
if t ~= 'step_retrying' then enqueueReplay(run.runId, now, run.queue) end
return { OK, id }
