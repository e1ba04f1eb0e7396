-- Appends one event to a run's stream. data is superjson text; createdAt is
-- server time in ms. (The stream's last id is the run's tail: nothing else to update.)
local function appendEvent(streamKey, runKey, eventType, correlationId, data, now)
  return redis.call('XADD', streamKey, '*', 'type', eventType, 'correlationId', correlationId or '',
    'data', data or '{"json":null}', 'createdAt', now)
end

-- superjson text for a plain table of strings, numbers and booleans (events the scripts write themselves).
local function sjData(t)
  return cjson.encode({ json = t })
end
