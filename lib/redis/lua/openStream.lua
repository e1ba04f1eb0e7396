--[[
  A reader opens one of a run's streams (run.getReadable): the stream is
  listed in the run's streams hash, so that the run's end closes it (an end
  marker, includes/finishRun.lua) even if nothing is ever written; a run
  that has finished already gets the end marker now (and its retention).

  KEYS[1] run hash   KEYS[2] the stream   KEYS[3] the run's streams hash
  ARGV[1] namespace ('' = the run's main stream)

  Returns {0, entries in the stream (the end marker included), 1 if closed else 0}
          | {-1} no run
]]
--- @include "codes"
--- @include "runStatus"
--- @include "streamEnd"

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return { ERR_RUN_NOT_FOUND } end
local key = KEYS[2]
redis.call('HSETNX', KEYS[3], ARGV[1], key)
if TERMINAL[status] then endStreamOfFinishedRun(KEYS[1], key, KEYS[3]) end
return { OK, redis.call('XLEN', key), streamClosed(key) and 1 or 0 }
