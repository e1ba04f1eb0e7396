-- Ends a run: status, timestamps, hook tokens, pending waits, and a pub/sub
-- notice so that returnValue waiters wake without polling. A run started
-- under a retention setting (run hash field retainMs) gets its keys expired
-- that long after its end, and is listed in the expiring index so that
-- pruneRuns.lua can drop it from the run indexes then.
-- retain: { steps = key, resumes = key, expiring = key } (the run's other keys and the index).
local function finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeys, runId, from, to,
                         eventType, data, fields, channel, now, retain)
  local id = appendEvent(streamKey, runKey, eventType, '', data, now)
  fields.completedAt = now
  moveRunStatus(runKey, statusKeys, runId, from, to, now, nil, fields)
  releaseRunHooks(runHooksKey, hooksKey, runId)
  redis.call('DEL', waitsKey)
  local r = redis.call('HMGET', runKey, 'retainMs', 'workflowName', 'idem')
  local ttl = tonumber(r[1] or '')
  if ttl and ttl > 0 then
    for _, key in ipairs({ runKey, streamKey, runHooksKey, retain.steps, retain.resumes }) do
      redis.call('PEXPIRE', key, ttl)
    end
    -- The idempotency key of the start that created the run (same hash tag): it must not outlive the run.
    if r[3] and redis.call('GET', r[3]) == runId then redis.call('PEXPIRE', r[3], ttl) end
    redis.call('ZADD', retain.expiring, now + ttl, cjson.encode({ runId, r[2] or '' }))
  end
  if channel and channel ~= '' then redis.call('PUBLISH', channel, runId) end
  return id
end
