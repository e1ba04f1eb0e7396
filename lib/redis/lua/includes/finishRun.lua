-- Ends a run: status, timestamps, hook tokens, pending waits, and a pub/sub
-- notice so that returnValue waiters wake without polling.
local function finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeys, runId, from, to,
                         eventType, data, fields, channel, now)
  local id = appendEvent(streamKey, runKey, eventType, '', data, now)
  fields.completedAt = now
  moveRunStatus(runKey, statusKeys, runId, from, to, now, nil, fields)
  releaseRunHooks(runHooksKey, hooksKey, runId)
  redis.call('DEL', waitsKey)
  if channel and channel ~= '' then redis.call('PUBLISH', channel, runId) end
  return id
end
