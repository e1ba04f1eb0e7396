--[[
  run_created (official-SDK World): creates a pending run and its run_created
  event. Nothing is enqueued: the official runtime queues the run itself.

  KEYS: see includes/wdkRun.lua (all 17)
  ARGV[1] run id   ARGV[2] (unused: channel)   ARGV[3] spec version
  ARGV[4] workflow name   ARGV[5] deployment id   ARGV[6] input (text)
  ARGV[7] execution context (text, '' = none)   ARGV[8] attributes (JSON object)
  ARGV[9] the event's data (text)

  Returns {0, slot, now} | {-3} the run exists (nothing written)
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "wdkRun"
EVENT_IDS = 'slot'

if redis.call('EXISTS', W.run) == 1 then return { ERR_ENTITY_CONFLICT } end
local now = nowMs()
local id = wdkCreateRunEntity({ runId = ARGV[1], workflowName = ARGV[4], deploymentId = ARGV[5], sv = ARGV[3],
  input = ARGV[6], ctx = ARGV[7], attrs = ARGV[8], data = ARGV[9] }, now)
return { OK, slotOf(id), now }
