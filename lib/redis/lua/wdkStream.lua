--[[
  The official-SDK World's streams (lib/world/streams.ts) on the native
  stream layout (includes/streamEnd.lua): appends chunks at dense entry ids
  `<index + 1>-0` (field `d`, the raw bytes, and `b` = '1', which tells the
  native parser they are bytes, not superjson), optionally the end marker,
  and lists the stream in the run's streams hash (name -> key), so that the
  run's end closes it and gives it the run's retention (includes/finishRun.lua).

  Unlike appendChunks.lua the run need not exist: the runtime's health checks
  write to fake run ids. A stream of a run that does not exist expires after
  ARGV[3] ms (refreshed by each write) instead of living forever; once the
  run exists, a write takes that expiry off again.

  A closed stream is never appended to (no chunk ever follows the end
  marker, so nothing is reordered or duplicated): chunks are refused, a
  close is a no-op. A stream of a finished run is closed: a call on it first
  appends the end marker (as the run's end would have, had it known the
  stream) with the run's retention, then goes as on any closed stream.

  KEYS[1] run hash   KEYS[2] the stream   KEYS[3] the run's streams hash
  ARGV[1] the stream's name (its field in the streams hash)
  ARGV[2] 'w' append the chunks | 'c' append them, then close | 'o' open for a
          reader (no chunks; lists the stream only if the run exists)
  ARGV[3] expiry (ms) of the streams of a run that does not exist
  ARGV[4..] the chunks (bytes)

  Returns {0, index of the first chunk appended, entries in the stream now, 1 if closed else 0}
          | {-20, entries} stream closed (chunks refused)
          | {-2, status} run finished (the stream is closed now, chunks refused)
]]
--- @include "codes"
--- @include "runStatus"
--- @include "streamEnd"

local key = KEYS[2]
local mode = ARGV[2]
local chunks = #ARGV - 3
local status = redis.call('HGET', KEYS[1], 'status')

if status and TERMINAL[status] then
  redis.call('HSETNX', KEYS[3], ARGV[1], key)
  endStreamOfFinishedRun(KEYS[1], key, KEYS[3])
  local n = redis.call('XLEN', key)
  if chunks > 0 then return { ERR_RUN_EXPIRED, status } end
  return { OK, n, n, 1 }
end

local n = redis.call('XLEN', key)
local closed = n > 0 and streamClosed(key)
if mode == 'o' then
  if status then redis.call('HSETNX', KEYS[3], ARGV[1], key) end
  return { OK, n, n, closed and 1 or 0 }
end
if closed then
  if chunks > 0 then return { ERR_STREAM_CLOSED, n } end
  return { OK, n, n, 1 }
end

redis.call('HSETNX', KEYS[3], ARGV[1], key)
local first = n
for i = 4, #ARGV do
  n = n + 1
  redis.call('XADD', key, n .. '-0', 'd', ARGV[i], 'b', '1')
end
if mode == 'c' then
  n = n + 1
  redis.call('XADD', key, n .. '-0', 'e', '1')
end
if status then
  -- Written before its run existed (a race the runtime guards against): the run keeps it now.
  redis.call('PERSIST', key)
  redis.call('PERSIST', KEYS[3])
else
  local ttl = tonumber(ARGV[3])
  redis.call('PEXPIRE', key, ttl)
  redis.call('PEXPIRE', KEYS[3], ttl)
end
return { OK, first, n, mode == 'c' and 1 or 0 }
