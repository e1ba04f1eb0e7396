--[[
  run_started (official-SDK World): pending -> running (startedAt kept from a
  first start), the event stored without data. A running run is answered as
  it is, with no event (concurrent invocations); a finished run is refused.
  Resilient start: a missing run is first created from the creation data the
  runtime carried through the queue (run_created written first), when given.
  The run's first page of events comes back unless the caller skips it.

  KEYS: see includes/wdkRun.lua (all 17)
  ARGV[1] run id   ARGV[2] (unused)   ARGV[3] spec version
  ARGV[4] '1' = creation data follows, '' = none
  ARGV[5] workflow name   ARGV[6] deployment id   ARGV[7] input (text)
  ARGV[8] execution context (text or '')   ARGV[9] attributes (JSON object)
  ARGV[10] the run_created event's data (text)
  ARGV[11] events to preload (0 = none)

  Returns {0, startedSlot (0 = running already: no event), run hash (flat), now, events, more, createdSlot}
          | {-1} no run and no creation data | {-2, status} the run finished
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "wdkRun"
EVENT_IDS = 'slot'

local now = nowMs()
local status = redis.call('HGET', W.run, 'status')
local created = 0
if not status then
  if ARGV[4] ~= '1' then return { ERR_RUN_NOT_FOUND } end
  created = slotOf(wdkCreateRunEntity({ runId = ARGV[1], workflowName = ARGV[5], deploymentId = ARGV[6], sv = ARGV[3],
    input = ARGV[7], ctx = ARGV[8], attrs = ARGV[9], data = ARGV[10] }, now))
  status = 'pending'
end
if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end
local started = 0
if status == 'pending' then
  local first = redis.call('HGET', W.run, 'startedAt')
  moveRunStatus(W.run, W.status, ARGV[1], 'pending', 'running', now, nil, { startedAt = first or now })
  started = slotOf(appendEvent(W.events, W.run, 'run_started', '', '', now))
end
local page, more = {}, 0
local limit = tonumber(ARGV[11])
if started > 0 and limit > 0 then page, more = eventsAfter(0, limit) end
return { OK, started, redis.call('HGETALL', W.run), now, page, more, created }
