--[[
  step_started for a step delivered by the step queue: attempt + 1.

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] steps
  ARGV[1] step id

  Returns {0, attempt, firstStartedAt, stepName, input (superjson)}
          | {-1} no run | {-2, status} run finished | {-8} no such step
          | {-3} step already completed or failed | {-5, retryAt} too early
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { ERR_RUN_NOT_FOUND } end
if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { ERR_STEP_NOT_FOUND, ARGV[1] } end
local st = cjson.decode(raw)
if st.s == 'completed' or st.s == 'failed' then return { ERR_ENTITY_CONFLICT, st.s } end
local now = nowMs()
if st.ra and st.ra > now then return { ERR_TOO_EARLY, st.ra } end
st.a = st.a + 1; st.s = 'running'; st.ra = nil
if not st.st then st.st = now end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(st))
appendEvent(KEYS[2], KEYS[1], 'step_started', ARGV[1], sjData({ attempt = st.a }), now)
return { OK, st.a, st.st, st.n, st.i or '' }
