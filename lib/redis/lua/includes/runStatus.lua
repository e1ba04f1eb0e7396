-- Run status helpers. statusKeys maps a status to its index key; the indexes
-- are sorted sets scored by the run's creation time.

-- The statuses in the order of the TypeScript RUN_STATUSES, which is the order
-- the status index keys come in (Keyspace.statusKeys); test/foundation/commit.test.ts
-- holds every list of statuses in the scripts to it.
local RUN_STATUSES = { 'pending', 'running', 'completed', 'failed', 'cancelled' }
local TERMINAL = { completed = true, failed = true, cancelled = true }

-- The status index keys, given in RUN_STATUSES order from KEYS[firstIndex].
local function statusKeyMap(firstIndex)
  local m = {}
  for i, name in ipairs(RUN_STATUSES) do m[name] = KEYS[firstIndex + i - 1] end
  return m
end

-- Moves a run to another status index and sets its status, updatedAt and
-- `extra` fields in one HSET. score: the run's createdAt when the caller has it.
local function moveRunStatus(runKey, statusKeys, runId, from, to, now, score, extra)
  score = score or redis.call('HGET', runKey, 'createdAt') or now
  if from and statusKeys[from] then redis.call('ZREM', statusKeys[from], runId) end
  redis.call('ZADD', statusKeys[to], score, runId)
  local fields = { 'status', to, 'updatedAt', now }
  if extra then
    for k, v in pairs(extra) do
      fields[#fields + 1] = k
      fields[#fields + 1] = v
    end
  end
  redis.call('HSET', runKey, unpack(fields))
end
