-- Appends one event to a run's stream. data is superjson text; createdAt is
-- server time in ms; wc (optional) the workflow clock a worker chose for the
-- event (a run's start, an inline step's result; see Execution.step).
-- (The stream's last id is the run's tail: nothing else to update.)
-- EVENT_IDS: '*' (native runs: ids from the server clock) or 'slot' (the
-- official-SDK World's runs: `0-<n>`, n = the event's 1-based position in the
-- run's log, dense); a World script sets it after the include.
local EVENT_IDS = '*'
local function appendEvent(streamKey, runKey, eventType, correlationId, data, now, wc)
  local id = '*'
  if EVENT_IDS == 'slot' then id = '0-' .. (redis.call('XLEN', streamKey) + 1) end
  if wc then
    return redis.call('XADD', streamKey, id, 'type', eventType, 'correlationId', correlationId or '',
      'data', data or '{"json":null}', 'createdAt', now, 'wc', wc)
  end
  return redis.call('XADD', streamKey, id, 'type', eventType, 'correlationId', correlationId or '',
    'data', data or '{"json":null}', 'createdAt', now)
end

-- superjson text for a plain table of strings, numbers and booleans (events the scripts write themselves).
local function sjData(t)
  return cjson.encode({ json = t })
end
