--[[
  run_cancelled (official-SDK World): a pending or running run ends cancelled,
  its hook tokens released, its waits dropped and its streams closed
  (includes/finishRun.lua). Idempotent on a cancelled run: no second event.

  KEYS: see includes/wdkRun.lua (all 17)
  ARGV[1] run id   ARGV[2] run-finished channel   ARGV[3] (unused)
  ARGV[4] the event's data (text)

  Returns {0, slot, run hash (flat), now} | {1, run hash (flat)} already cancelled
          | {-1} no run | {-3, status} the run completed or failed
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "releaseRunHooks"
--- @include "streamEnd"
--- @include "finishRun"
--- @include "wdkRun"
EVENT_IDS = 'slot'

local status = redis.call('HGET', W.run, 'status')
if not status then return { ERR_RUN_NOT_FOUND } end
if status == 'cancelled' then return { 1, redis.call('HGETALL', W.run) } end
if TERMINAL[status] then return { ERR_ENTITY_CONFLICT, status } end
local now = nowMs()
local id = finishRun(W.run, W.events, W.waits, W.runHooks, W.hooks, W.status, ARGV[1], status, 'cancelled',
  'run_cancelled', ARGV[4], {}, ARGV[2], now, W.retain)
return { OK, slotOf(id), redis.call('HGETALL', W.run), now }
