--[[
  Appends chunks to one of a run's streams (getWritable, written from a
  step), and optionally closes it with an end marker. Entry ids are
  `<index + 1>-0` (see includes/streamEnd.lua), so a reader can start at any
  index without scanning. Refuses an unknown or finished run and a closed
  stream, writing nothing. Closing a closed stream with no chunks is a no-op.

  KEYS[1] run hash   KEYS[2] the stream   KEYS[3] the run's streams hash
  ARGV[1] namespace ('' = the run's main stream)
  ARGV[2] writer: the public step id   ARGV[3] the step's attempt
  ARGV[4] '1' = close the stream after the chunks, '' = keep it open
  ARGV[5..] the chunks (superjson text each)

  Returns {0, index of the first chunk appended, entries in the stream now}
          | {-1} no run | {-2, status} run finished | {-20, namespace} stream closed
]]
--- @include "codes"
--- @include "runStatus"
--- @include "streamEnd"

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { ERR_RUN_NOT_FOUND } end
if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end
local key = KEYS[2]
if streamClosed(key) then
  if #ARGV == 4 and ARGV[4] == '1' then return { OK, redis.call('XLEN', key), redis.call('XLEN', key) } end
  return { ERR_STREAM_CLOSED, ARGV[1] }
end
redis.call('HSETNX', KEYS[3], ARGV[1], key)
local first = redis.call('XLEN', key)
local n = first
for i = 5, #ARGV do
  n = n + 1
  redis.call('XADD', key, n .. '-0', 'd', ARGV[i], 'w', ARGV[2], 'a', ARGV[3])
end
if ARGV[4] == '1' then
  n = n + 1
  redis.call('XADD', key, n .. '-0', 'e', '1')
end
return { OK, first, n }
