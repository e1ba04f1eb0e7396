--[[
  A timer fires: a sleep's (wait_completed, includes/waitState.lua
  completeWait) or a hook's timeout (createHook({ timeout }): the wait has
  k = 'hook' and the hook's id), and wakes the run, atomically. Exactly once:
  a second firing writes nothing.

  A hook's timeout, when the hook is still live: appends hook_timed_out,
  releases the token (and its tag index entries) and marks the hook
  timed out, in this one script, so a resume after it answers
  HookNotFoundError. A hook disposed (or adopted away) before its timeout
  writes no event.

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] waits
  KEYS[4] run hooks  KEYS[5] token hash
  ARGV[1] wait id (a hook's id for a hook timeout)

  Returns {0, eventId} | {-1} no run | {-2, status} run finished
          | {-9, waitId} no such wait | {-3, status} already completed
          (or, for a hook timeout, the hook was no longer live: 'disposed')
          | {-5, resumeAt} too early
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"
--- @include "waitState"
--- @include "hookIndex"
--- @include "enqueueReplay"

local run, err = loadLiveRun(KEYS[1], nil, { 'queue' })
if not run then return err end
local raw = redis.call('HGET', KEYS[3], ARGV[1])
if not raw then return { ERR_WAIT_NOT_FOUND, ARGV[1] } end
local w = cjson.decode(raw)
local now = nowMs()
local refused, resumeAt = completeWait(w, now)
if refused == 'exists' then return { ERR_ENTITY_CONFLICT, w.s } end
if refused then return { ERR_TOO_EARLY, resumeAt } end
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(w))
local id
if w.k == 'hook' then
  local ownRaw = redis.call('HGET', KEYS[4], ARGV[1])
  local own = ownRaw and cjson.decode(ownRaw)
  if not own or own.s ~= 'live' then return { ERR_ENTITY_CONFLICT, 'disposed' } end
  releaseToken(KEYS[5], own.t, run.runId)
  own.s = 'timed_out'
  redis.call('HSET', KEYS[4], ARGV[1], cjson.encode(own))
  id = appendEvent(KEYS[2], KEYS[1], 'hook_timed_out', ARGV[1], sjData({ timeoutAt = w.at }), now)
else
  id = appendEvent(KEYS[2], KEYS[1], 'wait_completed', ARGV[1], sjData({ resumeAt = w.at }), now)
end
enqueueReplay(run.runId, now, run.queue)
return { OK, id }
