--[[
  wait_completed when a sleep's timer fires, and wakes the run, atomically.
  Exactly once: a second firing writes nothing.

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] waits
  KEYS[4..12] BullMQ addStandardJob keys of the workflow queue
  ARGV[1] wait id

  Returns {0, eventId} | {-1} | {-2, status} run finished | {-9} no such wait
          | {-3} already completed | {-5, resumeAt} too early
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
if not raw then return { ERR_WAIT_NOT_FOUND, ARGV[1] } end
local w = cjson.decode(raw)
if w.s ~= 'waiting' then return { ERR_ENTITY_CONFLICT, w.s } end
local now = nowMs()
if w.at > now then return { ERR_TOO_EARLY, w.at } end
w.s = 'completed'
redis.call('HSET', KEYS[3], ARGV[1], cjson.encode(w))
local id = appendEvent(KEYS[2], KEYS[1], 'wait_completed', ARGV[1], sjData({ resumeAt = w.at }), now)
enqueueReplay(runId, now)
return { OK, id }
