--[[
  resumeHooks({ tag }): one batch of the fan-out. Appends hook_received to
  each live hook of the tag's index (in claim order, after the cursor and up
  to the bound) and puts each run on its route's replay queue, in one script:
  no hook live with the tag when the batch runs is skipped, and none gets the
  payload twice (a hook claimed while a batch runs waits for the script; a
  re-sent batch, same resume id, appends nothing again).

  KEYS[1]  token hash          KEYS[2]  the tag's index (token -> claim seq)
  ARGV[1]  event data (superjson {payload})
  ARGV[2]  resume id (client-minted, one per resumeHooks call)
  ARGV[3]  cursor: the claim seq of the last hook of the previous batch ('' = first batch)
  ARGV[4]  bound: the last claim seq the call covers ('' = first batch: the
           current value of the claim counter, returned for the next batches)
  ARGV[5]  most hooks in this batch
  ARGV[6]  first batch only: most hooks the whole call may resume
  ARGV[7]  run hash template  ARGV[8] run stream template  ARGV[9] run resumes template

  Returns {0, {hookRecordJSON...}, cursor ('' = no more), bound} resumed
          | {-14, count} first batch: the tag has more live hooks than ARGV[6]
            (nothing written)
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "fillTemplate"
--- @include "hookIndex"
--- @include "enqueueReplay"

local hooksKey, indexKey = KEYS[1], KEYS[2]
local data, resumeId, cursor, bound = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local limit = tonumber(ARGV[5])

if cursor == '' then
  local count = redis.call('ZCARD', indexKey)
  if count > tonumber(ARGV[6]) then return { ERR_TOO_MANY_HOOKS, count } end
  bound = redis.call('GET', HOOK_TAG_SEQ) or '0'
end

local min = cursor == '' and '-inf' or ('(' .. cursor)
local entries = redis.call('ZRANGEBYSCORE', indexKey, min, bound, 'WITHSCORES', 'LIMIT', 0, limit)
local now = nowMs()
local resumed = {}
local last = ''
for i = 1, #entries, 2 do
  local token = entries[i]
  last = entries[i + 1]
  local rec = redis.call('HGET', hooksKey, token)
  if not rec then
    -- Not expected (releases unindex), but an entry without a hook must not stay.
    redis.call('ZREM', indexKey, token)
  else
    local hook = cjson.decode(rec)
    local runKey = fillTemplate(ARGV[7], hook.runId)
    local live = redis.call('HMGET', runKey, 'status', 'queue')
    if live[1] == 'running' or live[1] == 'pending' then
      local resumesKey = fillTemplate(ARGV[9], hook.runId)
      local field = resumeId .. ':' .. hook.hookId
      if not redis.call('HGET', resumesKey, field) then
        local id = appendEvent(fillTemplate(ARGV[8], hook.runId), runKey, 'hook_received', hook.hookId, data, now)
        redis.call('HSET', resumesKey, field, id)
        enqueueReplay(hook.runId, now, live[2])
      end
      resumed[#resumed + 1] = rec
    end
  end
end
local nextCursor = ''
if #entries / 2 == limit then nextCursor = last end
return { OK, resumed, nextCursor, bound }
