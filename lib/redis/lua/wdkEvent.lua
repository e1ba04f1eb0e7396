--[[
  One event of an official-SDK World run (lib/world/transitions.ts), checked
  and applied with its entity in one step, as @workflow/world 5.0.0-beta.21
  defines them: steps (step_created, step_started bare or lazy, step_completed,
  step_failed, step_retrying), hooks (hook_created, hook_received,
  hook_disposed), waits (wait_created, wait_completed), attr_set, and the
  run's end (run_completed, run_failed). The step, wait and hook state
  machines are the native ones (includes/stepState, waitState, hookIndex).

  KEYS: see includes/wdkRun.lua (all 17)
  ARGV[1] run id   ARGV[2] run-finished channel   ARGV[3] spec version
  ARGV[4] event type   ARGV[5] correlation id   ARGV[6] the event's data (text)
  ARGV[7] options (JSON; scalars only): stepName, retryAfter (ms), token,
          isWebhook, isSystem, resumeAt (ms), errorCode, changes
          ([[key, value|false]...]), dedup (attr_set of workflow code), lazy
  ARGV[8] the entity's payload (text): step input (step_created, lazy
          step_started), result, error, hook metadata, run output or error
  ARGV[9] lazy step_started: the synthetic step_created event's data (text)
  ARGV[10] '' or a slot: return the events after it (step_completed, step_failed)
  ARGV[11] most events to return with ARGV[10]

  Returns {0, slot, now, entity, createdSlot, events, more, conflictingRunId}
          (entity: the step, hook or wait as stored (JSON text), the run hash
          (flat) for run_completed, run_failed and attr_set, else '')
          | {-1} no run | {-2, message} run finished (RunExpiredError)
          | {-3, message} conflict | {-4} hook not found | {-5, retryAt ms}
          | {-8} step not found | {-9} wait not found
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "stepState"
--- @include "waitState"
--- @include "releaseRunHooks"
--- @include "streamEnd"
--- @include "finishRun"
--- @include "wdkRun"
EVENT_IDS = 'slot'

local runId, t, c, data = ARGV[1], ARGV[4], ARGV[5], ARGV[6]
local o = cjson.decode(ARGV[7])
local payload = ARGV[8]
local now = nowMs()
local status = redis.call('HGET', W.run, 'status')
local isStep = string.sub(t, 1, 5) == 'step_'
-- A running step may still record its result after the run ended; everything else needs the run.
if not status and not (t == 'step_completed' or t == 'step_retrying') then return { ERR_RUN_NOT_FOUND } end
local ended = status and TERMINAL[status]

local function reply(id, entity, created, page, more, conflicting)
  return { OK, slotOf(id), now, entity or '', created or 0, page or {}, more or 0, conflicting or '' }
end
local function putStep(st)
  st.u = now
  local text = cjson.encode(st)
  redis.call('HSET', W.steps, c, text)
  return text
end
local function getJson(key, field)
  local v = redis.call('HGET', key, field)
  return v and cjson.decode(v) or nil
end

if t == 'run_completed' or t == 'run_failed' then
  if ended then return { ERR_ENTITY_CONFLICT, 'Cannot transition run from terminal state "' .. status .. '"' } end
  local to, fields = 'completed', { output = payload }
  if t == 'run_failed' then
    to, fields = 'failed', { error = payload }
    if o.errorCode then fields.errorCode = o.errorCode end
  end
  local id = finishRun(W.run, W.events, W.waits, W.runHooks, W.hooks, W.status, runId, status, to,
    t, data, fields, ARGV[2], now, W.retain)
  return reply(id, redis.call('HGETALL', W.run))
end

if t == 'attr_set' then
  if ended then return { ERR_ENTITY_CONFLICT, 'Cannot set attributes on run in terminal state "' .. status .. '"' } end
  local attrs = cjson.decode(redis.call('HGET', W.run, 'attrs') or '{}')
  local n = 0
  for _ in pairs(attrs) do n = n + 1 end
  for _, ch in ipairs(o.changes) do
    local had = attrs[ch[1]] ~= nil
    if ch[2] == false then
      if had then n = n - 1 end
      attrs[ch[1]] = nil
    else
      if not had then n = n + 1 end
      attrs[ch[1]] = ch[2]
    end
  end
  if n > 64 then return { ERR_ENTITY_CONFLICT, 'Run attribute count would exceed limit 64 (post-merge ' .. n .. ')' } end
  if o.dedup and c ~= '' then
    if redis.call('HSETNX', W.resumes, 'attr:' .. c, '1') == 0 then
      return { ERR_ENTITY_CONFLICT, 'Attribute event "' .. c .. '" already exists' }
    end
  end
  -- cjson writes an empty table as {}: attributes are an object either way.
  redis.call('HSET', W.run, 'attrs', cjson.encode(attrs), 'updatedAt', now)
  local id = appendEvent(W.events, W.run, t, c, data, now)
  return reply(id, redis.call('HGETALL', W.run))
end

if isStep then
  local lazy = t == 'step_started' and o.lazy
  if t == 'step_created' or lazy then
    if ended then return { ERR_ENTITY_CONFLICT, 'Cannot create new entities on run in terminal state "' .. status .. '"' } end
    if redis.call('HEXISTS', W.steps, c) == 1 then return { ERR_ENTITY_CONFLICT, 'Step "' .. c .. '" already created' } end
    local st = newStep(o.stepName, 'queue', payload)
    st.m = nil
    st.c = now
    st.sv = tonumber(ARGV[3])
    redis.call('HSET', W.corr, c, runId)
    if not lazy then
      local text = putStep(st)
      return reply(appendEvent(W.events, W.run, t, c, data, now), text)
    end
    -- Lazy start: the step and a synthetic step_created first, then the start below.
    local createdId = appendEvent(W.events, W.run, 'step_created', c, ARGV[9], now)
    beginAttempt(st, now)
    local text = putStep(st)
    return reply(appendEvent(W.events, W.run, t, c, data, now), text, slotOf(createdId))
  end
  local st = getJson(W.steps, c)
  if not st then return { ERR_STEP_NOT_FOUND } end
  if stepSettled(st) then return { ERR_ENTITY_CONFLICT, 'Cannot modify step in terminal state "' .. st.s .. '"' } end
  if ended and st.s ~= 'running' and t ~= 'step_completed' and t ~= 'step_retrying' then
    return { ERR_RUN_EXPIRED, 'Cannot modify non-running step on run in terminal state "' .. status .. '"' }
  end
  if t == 'step_started' then
    local refused, at = beginAttempt(st, now)
    if refused == 'too_early' then return { ERR_TOO_EARLY, at } end
  else
    settleStep(st, t, o.retryAfter)
    if t == 'step_completed' then st.o = payload else st.e = payload end
    if t ~= 'step_retrying' then st.ca = now end
  end
  local text = putStep(st)
  local id = appendEvent(W.events, W.run, t, c, data, now)
  if ARGV[10] ~= '' and t ~= 'step_started' and t ~= 'step_retrying' then
    local page, more = eventsAfter(tonumber(ARGV[10]), tonumber(ARGV[11]))
    return reply(id, text, 0, page, more)
  end
  return reply(id, text)
end

if t == 'hook_created' then
  if ended then return { ERR_ENTITY_CONFLICT, 'Cannot create new entities on run in terminal state "' .. status .. '"' } end
  if redis.call('HEXISTS', W.runHooks, c) == 1 then return { ERR_ENTITY_CONFLICT, 'Hook "' .. c .. '" already created' } end
  local holder = redis.call('HGET', W.hooks, o.token)
  if holder then
    -- Not an error: the conflict is an event of the run, as native createHook records it.
    local h = cjson.decode(holder)
    redis.call('HSET', W.runHooks, c, cjson.encode({ t = o.token, s = 'conflict' }))
    local d = cjson.encode({ json = { token = o.token, conflictingRunId = h.runId } })
    return reply(appendEvent(W.events, W.run, 'hook_conflict', c, d, now), '', 0, {}, 0, h.runId)
  end
  local rec = { runId = runId, hookId = c, token = o.token, createdAt = now, isWebhook = o.isWebhook == true,
    isSystem = o.isSystem == true, sv = tonumber(ARGV[3]) }
  if payload ~= '' then rec.metadata = payload end
  claimToken(W.hooks, rec)
  redis.call('HSET', W.runHooks, c, cjson.encode({ t = o.token, s = 'live' }))
  redis.call('HSET', W.corr, c, runId)
  return reply(appendEvent(W.events, W.run, t, c, data, now), cjson.encode(rec))
end

if t == 'hook_received' or t == 'hook_disposed' then
  local own = getJson(W.runHooks, c)
  if not own or own.s == 'conflict' then return { ERR_HOOK_NOT_FOUND } end
  if own.s ~= 'live' then
    if t == 'hook_received' then return { ERR_HOOK_NOT_FOUND } end
    return { ERR_ENTITY_CONFLICT, 'Hook "' .. c .. '" already disposed' }
  end
  if t == 'hook_disposed' then
    releaseToken(W.hooks, own.t, runId)
    own.s = 'disposed'
    redis.call('HSET', W.runHooks, c, cjson.encode(own))
  end
  return reply(appendEvent(W.events, W.run, t, c, data, now))
end

if t == 'wait_created' then
  if ended then return { ERR_ENTITY_CONFLICT, 'Cannot create new entities on run in terminal state "' .. status .. '"' } end
  if redis.call('HEXISTS', W.waits, c) == 1 then return { ERR_ENTITY_CONFLICT, 'Wait "' .. c .. '" already exists' } end
  local w = newWait(o.resumeAt)
  w.c = now
  w.u = now
  local text = cjson.encode(w)
  redis.call('HSET', W.waits, c, text)
  redis.call('HSET', W.corr, c, runId)
  return reply(appendEvent(W.events, W.run, t, c, data, now), text)
end

if t == 'wait_completed' then
  local w = getJson(W.waits, c)
  if not w then return { ERR_WAIT_NOT_FOUND } end
  -- No time check: the official run.wakeUp() completes a wait early; one completion wins.
  if w.s ~= 'waiting' then return { ERR_ENTITY_CONFLICT, 'Wait "' .. c .. '" already completed' } end
  w.s = 'completed'
  w.ca = now
  w.u = now
  local text = cjson.encode(w)
  redis.call('HSET', W.waits, c, text)
  return reply(appendEvent(W.events, W.run, t, c, data, now), text)
end

return redis.error_reply('WFR_BAD_EVENT ' .. tostring(t))
