--[[
  Drops runs whose retention has passed from the run indexes (their keys have
  expired by then: includes/finishRun.lua set the TTLs). A run id that was
  used again by a new run meanwhile keeps its index entries.

  KEYS[1] expiring runs index   KEYS[2] all runs index
  KEYS[3..7] status indexes (pending, running, completed, failed, cancelled)
  ARGV[1] run hash template     ARGV[2] workflow index template (keys.ts runTemplates)
  ARGV[3] most runs to drop in this call

  Returns the number of runs dropped from the expiring index.
]]
--- @include "now"
--- @include "fillTemplate"

local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', nowMs(), 'LIMIT', 0, tonumber(ARGV[3]))
for _, member in ipairs(due) do
  local e = cjson.decode(member)
  local runId, workflowName = e[1], e[2]
  if redis.call('EXISTS', fillTemplate(ARGV[1], runId)) == 0 then
    redis.call('ZREM', KEYS[2], runId)
    for i = 3, 7 do redis.call('ZREM', KEYS[i], runId) end
    if workflowName ~= '' then redis.call('ZREM', fillTemplate(ARGV[2], workflowName), runId) end
  end
  redis.call('ZREM', KEYS[1], member)
end
return #due
