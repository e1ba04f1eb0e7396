--[[
  Takes the run's replay lease for one worker and bumps the run's epoch (the
  fence every later write of this replay checks). run_started: a pending run
  becomes running; a running run stays as it is (idempotent, no event).

  KEYS[1] run hash   KEYS[2] run stream   KEYS[3] lease
  KEYS[4..8] status indexes (pending, running, completed, failed, cancelled)
  ARGV[1] owner (unique per job attempt)   ARGV[2] lease ttl ms
  ARGV[3] epoch of this worker's warm execution ('' = none)
  ARGV[4] last event that execution consumed   ARGV[5] most events to return

  Returns {0, epoch, status, startedAt, seen, workflowName, warm, input, events, started}
          warm = 1 when no other replay ran since the warm execution and the
          log still holds the last event it consumed (events then start after
          ARGV[4]); warm = 0: input and events from the start. A log that lost
          that event (a failover or restart that dropped acknowledged writes)
          is older than the execution's memory: it must not be trusted.
          started = 1 when this call appended run_started (the worker logs
          the run's start once, from this).
          | {-1} no such run | {-2, status} the run has finished
          | {-7, pttl} another owner holds the lease
]]
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "runStatus"
--- @include "liveRun"

local runKey, streamKey, leaseKey = KEYS[1], KEYS[2], KEYS[3]
local run, err = loadLiveRun(runKey, '', { 'startedAt', 'seen', 'workflowName', 'input', 'createdAt' })
if not run then return err end
local status = run.status

local holder = redis.call('GET', leaseKey)
if holder and holder ~= ARGV[1] then
  return { ERR_LEASE_BUSY, redis.call('PTTL', leaseKey) }
end
redis.call('SET', leaseKey, ARGV[1], 'PX', ARGV[2])
local epoch = redis.call('HINCRBY', runKey, 'epoch', 1)

local startedAt = run.startedAt
local started = 0
if status == 'pending' then
  local now = nowMs()
  appendEvent(streamKey, runKey, 'run_started', '', sjData({}), now)
  moveRunStatus(runKey, statusKeyMap(4), run.runId, 'pending', 'running', now, run.createdAt, { startedAt = now })
  status, startedAt, started = 'running', now, 1
end
-- Load what the replay needs in the same round trip.
local warm = ARGV[3] ~= '' and ARGV[4] ~= '' and tonumber(ARGV[3]) == epoch - 1
local events
if warm then
  -- Read from the cursor itself (inclusive): the first entry proves the log still has it.
  events = redis.call('XRANGE', streamKey, ARGV[4], '+', 'COUNT', tonumber(ARGV[5]) + 1)
  if events[1] and events[1][1] == ARGV[4] then
    table.remove(events, 1)
    return { OK, epoch, status, startedAt or '', run.seen or '', run.workflowName or '', 1, '', events, started }
  end
end
events = redis.call('XRANGE', streamKey, '-', '+', 'COUNT', ARGV[5])
return { OK, epoch, status, startedAt or '', run.seen or '', run.workflowName or '', 0, run.input or '', events, started }
