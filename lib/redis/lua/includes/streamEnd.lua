-- A run's streams (getWritable chunks; lib/redis/keys.ts runStream): entry
-- ids are `<index + 1>-0`, so the next entry's id follows from XLEN (streams
-- are never trimmed); a closed stream's last entry is an end marker (field e).
local function streamClosed(key)
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  if not last then return false end
  local f = last[2]
  for i = 1, #f, 2 do
    if f[i] == 'e' then return true end
  end
  return false
end

-- Appends the end marker unless the stream is closed already.
local function endStream(key)
  if streamClosed(key) then return end
  redis.call('XADD', key, (redis.call('XLEN', key) + 1) .. '-0', 'e', '1')
end

-- Closes every stream of a run (its streams hash: namespace -> key) and, with
-- ttl, lets them expire with the run (includes/finishRun.lua).
local function endRunStreams(streamsKey, ttl)
  local s = redis.call('HGETALL', streamsKey)
  for i = 2, #s, 2 do
    endStream(s[i])
    if ttl then redis.call('PEXPIRE', s[i], ttl) end
  end
  if ttl and #s > 0 then redis.call('PEXPIRE', streamsKey, ttl) end
end

-- A stream of a run that has finished: its end marker now, and the run's
-- retention (the run hash's TTL) for it and the run's streams hash.
local function endStreamOfFinishedRun(runKey, key, streamsKey)
  endStream(key)
  local ttl = redis.call('PTTL', runKey)
  if ttl > 0 then
    redis.call('PEXPIRE', key, ttl)
    redis.call('PEXPIRE', streamsKey, ttl)
  end
end
