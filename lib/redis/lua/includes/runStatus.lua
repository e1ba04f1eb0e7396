-- Run status helpers. statusKeys maps a status to its index key; the indexes
-- are sorted sets scored by the run's creation time.
local TERMINAL = { completed = true, failed = true, cancelled = true }

local function statusKeyMap(firstIndex)
  local names = { 'pending', 'running', 'completed', 'failed', 'cancelled' }
  local m = {}
  for i, name in ipairs(names) do m[name] = KEYS[firstIndex + i - 1] end
  return m
end

local function moveRunStatus(runKey, statusKeys, runId, from, to, now)
  local score = redis.call('HGET', runKey, 'createdAt') or now
  if from and statusKeys[from] then redis.call('ZREM', statusKeys[from], runId) end
  redis.call('ZADD', statusKeys[to], score, runId)
  redis.call('HSET', runKey, 'status', to, 'updatedAt', now)
end
