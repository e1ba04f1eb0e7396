--[[
  hook_received: the atomic resume. Looks the token up, refuses unknown,
  disposed or finished hooks (writing nothing), appends hook_received to the
  run's stream and puts the run on its route's replay queue, in one script.
  A re-sent resume (same client-minted resume id) is not appended twice.

  KEYS[1]  token hash (token -> hook record)
  ARGV[1]  token                 ARGV[2]  resume id (client-minted)
  ARGV[3]  event data (superjson {payload})
  ARGV[4]  run hash template     ARGV[5]  run stream template
  ARGV[6]  run resumes template  (templates from keys.ts runTemplates)
  ARGV[7]  '1' = only a webhook hook may be resumed (resumeWebhook), '0' = any

  Returns {0, hookRecordJSON, eventId} appended
          | {1, hookRecordJSON, eventId} this resume id was already applied (nothing written)
          | {-4} hook not found (unknown, disposed, run finished, or a plain
                 hook reached through resumeWebhook)
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "fillTemplate"
--- @include "enqueueReplay"

local rec = redis.call('HGET', KEYS[1], ARGV[1])
if not rec then return { ERR_HOOK_NOT_FOUND } end
local hook = cjson.decode(rec)
if ARGV[7] == '1' and hook.isWebhook ~= true then return { ERR_HOOK_NOT_FOUND } end
local runId = hook.runId
local runKey = fillTemplate(ARGV[4], runId)
local live = redis.call('HMGET', runKey, 'status', 'queue')
local status = live[1]
if status ~= 'running' and status ~= 'pending' then return { ERR_HOOK_NOT_FOUND } end

local resumesKey = fillTemplate(ARGV[6], runId)
local resumeId = ARGV[2]
if resumeId ~= '' then
  local prior = redis.call('HGET', resumesKey, resumeId)
  if prior then return { 1, rec, prior } end
end
local now = nowMs()
local id = appendEvent(fillTemplate(ARGV[5], runId), runKey, 'hook_received', hook.hookId, ARGV[3], now)
if resumeId ~= '' then redis.call('HSET', resumesKey, resumeId, id) end
enqueueReplay(runId, now, live[2])
return { OK, rec, id }
