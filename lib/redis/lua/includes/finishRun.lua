-- Ends a run: status, timestamps, hook tokens, pending waits, and a pub/sub
-- notice so that returnValue waiters wake without polling. A run started
-- under a retention setting (run hash field retainMs) gets its keys expired
-- that long after its end, and is listed in the expiring index so that
-- pruneRuns.lua can drop it from the run indexes then.
-- retain: { steps = key, resumes = key, expiring = key, streams = key } (the run's other keys,
-- the index, and the run's streams hash: every stream of the run gets its end
-- marker here, and expires with the run; needs includes/streamEnd.lua).
-- known (optional): run hash fields the caller read already { createdAt,
-- retainMs, workflowName, idem, version }, and noHooks / noWaits when the caller knows
-- the run has none (a run started and ended by one commit that made none).
-- KNOWN_RUN_FIELDS: the run hash fields `known` holds (includes/liveRun.lua
-- loadLiveRun reads them as its extra fields; its run table serves as known).
local KNOWN_RUN_FIELDS = { 'createdAt', 'retainMs', 'workflowName', 'idem', 'version' }
local function finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeys, runId, from, to,
                         eventType, data, fields, channel, now, retain, known)
  local id = appendEvent(streamKey, runKey, eventType, '', data, now)
  fields.completedAt = now
  moveRunStatus(runKey, statusKeys, runId, from, to, now, known and known.createdAt, fields)
  if not (known and known.noHooks) then releaseRunHooks(runHooksKey, hooksKey, runId) end
  if not (known and known.noWaits) then redis.call('DEL', waitsKey) end
  local r
  if known then r = { known.retainMs, known.workflowName, known.idem, known.version }
  else r = redis.call('HMGET', runKey, 'retainMs', 'workflowName', 'idem', 'version') end
  local ttl = tonumber(r[1] or '')
  if ttl and ttl > 0 then
    for _, key in ipairs({ runKey, streamKey, runHooksKey, retain.steps, retain.resumes }) do
      redis.call('PEXPIRE', key, ttl)
    end
    -- The idempotency key of the start that created the run (same hash tag): it must not outlive the run.
    if r[3] and redis.call('GET', r[3]) == runId then redis.call('PEXPIRE', r[3], ttl) end
    -- The entry names the indexes the run is in: the workflow's and its version's.
    redis.call('ZADD', retain.expiring, now + ttl, cjson.encode({ runId, r[2] or '', r[4] or '' }))
  end
  if retain.streams then endRunStreams(retain.streams, (ttl and ttl > 0) and ttl or nil) end
  if channel and channel ~= '' then redis.call('PUBLISH', channel, runId) end
  return id
end
