--[[
  Drops runs whose retention has passed from the run indexes (their keys have
  expired by then: includes/finishRun.lua set the TTLs). When the run id names
  a new run meanwhile, only the old run's entries the new one does not share
  (another status, another workflow or version) are dropped.

  KEYS[1] expiring runs index   KEYS[2] all runs index
  KEYS[3..7] status indexes in RUN_STATUSES order (pending, running, completed, failed, cancelled)
  ARGV[1] run hash template     ARGV[2] workflow index template (keys.ts runTemplates)
  ARGV[3] most runs to drop in this call
  ARGV[4] version index template (the route id name@version in the slot)

  Returns the number of runs dropped from the expiring index.
]]
--- @include "now"
--- @include "fillTemplate"
--- @include "runStatus"

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  local e = cjson.decode(member)
  local runId, workflowName, version = e[1], e[2], e[3] or ''
  local route = (workflowName ~= '' and version ~= '') and (workflowName .. '@' .. version) or nil
  local live = redis.call('HMGET', fillTemplate(ARGV[1], runId), 'status', 'workflowName', 'version')
  if not live[1] then
    redis.call('ZREM', KEYS[2], runId)
    for i = 3, 7 do redis.call('ZREM', KEYS[i], runId) end
    if workflowName ~= '' then redis.call('ZREM', fillTemplate(ARGV[2], workflowName), runId) end
    if route then redis.call('ZREM', fillTemplate(ARGV[4], route), runId) end
  else
    -- The id names a new run now: drop only the old run's entries the new one does not share.
    for i, status in ipairs(RUN_STATUSES) do
      if status ~= live[1] then redis.call('ZREM', KEYS[2 + i], runId) end
    end
    if workflowName ~= '' and workflowName ~= live[2] then redis.call('ZREM', fillTemplate(ARGV[2], workflowName), runId) end
    if route and (workflowName ~= live[2] or version ~= live[3]) then redis.call('ZREM', fillTemplate(ARGV[4], route), runId) end
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
