--[[
  step_started for a step delivered by the step queue: attempt + 1
  (includes/stepState.lua beginAttempt).

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] steps
  ARGV[1] step id

  Returns {0, attempt, firstStartedAt, stepName, input (superjson)}
          | {-1} no run | {-2, status} run finished | {-8, stepId} no such step
          | {-3, status} step already completed or failed | {-5, retryAt} too early
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"
--- @include "stepState"

local run, err = loadLiveRun(KEYS[1])
if not run then return err end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { ERR_STEP_NOT_FOUND, ARGV[1] } end
local st = cjson.decode(raw)
local now = nowMs()
local refused, retryAt = beginAttempt(st, now)
if refused == 'exists' then return { ERR_ENTITY_CONFLICT, st.s } end
if refused then return { ERR_TOO_EARLY, retryAt } end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(st))
appendEvent(KEYS[2], KEYS[1], 'step_started', ARGV[1], sjData({ attempt = st.a }), now)
return { OK, st.a, st.st, st.n, st.i or '' }
