--[[
  wait_completed when a sleep's timer fires (includes/waitState.lua
  completeWait), and wakes the run, atomically. Exactly once: a second firing
  writes nothing.

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] waits
  ARGV[1] wait id

  Returns {0, eventId} | {-1} no run | {-2, status} run finished
          | {-9, waitId} no such wait | {-3, status} already completed
          | {-5, resumeAt} too early
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"
--- @include "waitState"
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
local id = appendEvent(KEYS[2], KEYS[1], 'wait_completed', ARGV[1], sjData({ resumeAt = w.at }), now)
enqueueReplay(run.runId, now, run.queue)
return { OK, id }
