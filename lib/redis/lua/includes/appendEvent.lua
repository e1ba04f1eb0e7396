-- Appends one event to a run's stream and records the new tail on the run hash.
-- data is superjson text; createdAt is server time in ms.
local function appendEvent(streamKey, runKey, eventType, correlationId, data, now)
  local id = redis.call('XADD', streamKey, '*', 'type', eventType, 'correlationId', correlationId or '',
    'data', data or '{"json":null}', 'createdAt', now)
  redis.call('HSET', runKey, 'tail', id, 'updatedAt', now)
  return id
end

-- superjson text for a plain table of strings, numbers and booleans (events the scripts write themselves).
local function sjData(t)
  return cjson.encode({ json = t })
end
