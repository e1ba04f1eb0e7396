-- Appends one event to a run's stream. data is superjson text; createdAt is
-- server time in ms; wc (optional) the workflow clock a worker chose for the
-- event (a run's start, an inline step's result; see Execution.step).
-- (The stream's last id is the run's tail: nothing else to update.)
local function appendEvent(streamKey, runKey, eventType, correlationId, data, now, wc)
  if wc then
    return redis.call('XADD', streamKey, '*', 'type', eventType, 'correlationId', correlationId or '',
      'data', data or '{"json":null}', 'createdAt', now, 'wc', wc)
  end
  return redis.call('XADD', streamKey, '*', 'type', eventType, 'correlationId', correlationId or '',
    'data', data or '{"json":null}', 'createdAt', now)
end

-- superjson text for a plain table of strings, numbers and booleans (events the scripts write themselves).
local function sjData(t)
  return cjson.encode({ json = t })
end
