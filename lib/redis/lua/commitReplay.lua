--[[
  Commits what one replay decided, atomically and fenced by the run's epoch:
  step_created / step_started / step_completed / step_failed / step_retrying,
  hook_created (token claim, or a stored hook_conflict), hook_disposed,
  wait_created / wait_completed, run_completed / run_failed.
  Each op follows the official state machines; an op the state refuses is
  reported in the results and writes nothing.

  KEYS[1] run hash     KEYS[2] run stream   KEYS[3] steps   KEYS[4] waits
  KEYS[5] run hooks    KEYS[6] token hash
  KEYS[7..11] status indexes (pending, running, completed, failed, cancelled)
  ARGV[1] epoch ('' = not fenced: store-level callers and tests)
  ARGV[2] ops (JSON array, see lib/redis/store-types.ts CommitOp)
  ARGV[3] return the events after this id ('' = return none)
  ARGV[4] run-finished pub/sub channel

  Returns {0, resultsJSON, events} | {-1} no run | {-2, status} run finished
          | {-6} fenced: another worker took the run over
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "releaseRunHooks"
--- @include "finishRun"

local runKey, streamKey, stepsKey, waitsKey, runHooksKey, hooksKey =
  KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local r = redis.call('HMGET', runKey, 'status', 'runId', 'epoch')
local status, runId = r[1], r[2]
if not status then return { ERR_RUN_NOT_FOUND } end
if ARGV[1] ~= '' and r[3] ~= ARGV[1] then return { ERR_FENCED } end
if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end

local now = nowMs()
local ops = cjson.decode(ARGV[2])
local results = {}
local finished = false

local function getJson(key, field)
  local v = redis.call('HGET', key, field)
  if v then return cjson.decode(v) end
  return nil
end

for i, op in ipairs(ops) do
  local t, c = op.t, op.c
  local res = { r = 'ok' }
  if finished then
    res.r = 'skipped'
  elseif t == 'step_created' then
    if redis.call('HEXISTS', stepsKey, c) == 1 then res.r = 'exists'
    else
      redis.call('HSET', stepsKey, c, cjson.encode({ n = op.n, s = 'pending', a = 0, m = op.m or 'queue', i = op.i }))
      res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
    end
  elseif t == 'step_started' then
    local st = getJson(stepsKey, c)
    if not st then res.r = 'missing'
    elseif st.s == 'completed' or st.s == 'failed' then res.r = 'exists'
    elseif st.ra and st.ra > now then res.r = 'too_early'; res.at = st.ra
    else
      st.a = st.a + 1; st.s = 'running'; st.ra = nil
      if not st.st then st.st = now end
      if op.m then st.m = op.m end
      redis.call('HSET', stepsKey, c, cjson.encode(st))
      res.id = appendEvent(streamKey, runKey, t, c, sjData({ attempt = st.a }), now)
      res.attempt = st.a; res.startedAt = st.st
    end
  elseif t == 'step_completed' or t == 'step_failed' or t == 'step_retrying' then
    local st = getJson(stepsKey, c)
    if not st then res.r = 'missing'
    elseif st.s == 'completed' or st.s == 'failed' then res.r = 'exists'
    else
      if t == 'step_completed' then st.s = 'completed'
      elseif t == 'step_failed' then st.s = 'failed'
      else st.s = 'pending'; st.ra = op.ra end
      redis.call('HSET', stepsKey, c, cjson.encode(st))
      res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
    end
  elseif t == 'hook_created' then
    local own = getJson(runHooksKey, c)
    if own then res.r = 'exists'
    else
      local holder = redis.call('HGET', hooksKey, op.tk)
      if holder then
        local h = cjson.decode(holder)
        redis.call('HSET', runHooksKey, c, cjson.encode({ t = op.tk, s = 'conflict' }))
        res.r = 'conflict'; res.conflictingRunId = h.runId
        res.id = appendEvent(streamKey, runKey, 'hook_conflict', c,
          sjData({ token = op.tk, conflictingRunId = h.runId }), now)
      else
        local rec = { runId = runId, hookId = c, token = op.tk, createdAt = now, isWebhook = op.wh == true }
        if op.md then rec.metadata = op.md end
        if op.rw then rec.respondWith = op.rw end
        redis.call('HSET', hooksKey, op.tk, cjson.encode(rec))
        redis.call('HSET', runHooksKey, c, cjson.encode({ t = op.tk, s = 'live' }))
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
      end
    end
  elseif t == 'hook_disposed' then
    local own = getJson(runHooksKey, c)
    if not own then res.r = 'missing'
    elseif own.s ~= 'live' then res.r = 'exists'
    else
      local rec = redis.call('HGET', hooksKey, own.t)
      if rec and cjson.decode(rec).runId == runId then redis.call('HDEL', hooksKey, own.t) end
      own.s = 'disposed'
      redis.call('HSET', runHooksKey, c, cjson.encode(own))
      res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
    end
  elseif t == 'wait_created' then
    if redis.call('HEXISTS', waitsKey, c) == 1 then res.r = 'exists'
    else
      redis.call('HSET', waitsKey, c, cjson.encode({ s = 'waiting', at = op.at }))
      res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
    end
  elseif t == 'wait_completed' then
    local w = getJson(waitsKey, c)
    if not w then res.r = 'missing'
    elseif w.s ~= 'waiting' then res.r = 'exists'
    elseif w.at > now then res.r = 'too_early'; res.at = w.at
    else
      w.s = 'completed'
      redis.call('HSET', waitsKey, c, cjson.encode(w))
      res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
    end
  elseif t == 'run_completed' or t == 'run_failed' then
    local to = 'completed'
    local fields = { output = op.out }
    if t == 'run_failed' then to = 'failed'; fields = { error = op.err } end
    res.id = finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeyMap(7), runId, status, to,
      t, op.d, fields, ARGV[4], now)
    finished = true
  else
    return redis.error_reply('WFR_BAD_OP ' .. tostring(t))
  end
  results[i] = res
end

local events = {}
if ARGV[3] ~= '' then events = redis.call('XRANGE', streamKey, '(' .. ARGV[3], '+') end
return { OK, cjson.encode(results), events }
