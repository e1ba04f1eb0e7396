--[[
  run_created: creates a run and puts it on its route's replay queue, atomically.
  Idempotent on the run id and on the idempotency key.

  KEYS[1]  run hash            KEYS[2]  run stream
  KEYS[3]  idempotency key (a dummy key when ARGV[5] == '0')
  KEYS[4]  runs index (all)    KEYS[5]  runs index (status pending)
  KEYS[6]  runs index (workflow name)   KEYS[7]  runs index (workflow version)
  KEYS[8]  routes set (every name@version with runs or workers)
  ARGV[1]  run id              ARGV[2]  workflow name
  ARGV[3]  event data (superjson {workflowName, input})
  ARGV[4]  input (superjson)   ARGV[5]  '1' when an idempotency key is set
  ARGV[6]  retention after the run ends, ms ('' = kept until deleted; see includes/finishRun.lua)
  ARGV[7]  replay job data (JSON: run id plus the start hint the worker uses to
           run a new run before taking its lease; '' = just the run id)
  ARGV[8]  workflow version    ARGV[9]  route id (name@version)
  ARGV[10] the route's replay queue name (kept in the run hash: every later
           wake-up of the run goes to that queue)
  KEYS[9]  token hash          KEYS[10] the run's hooks (hook id -> state)
  ARGV[11] '' or the hook start() claims for the run (start(wf, args, { hook })):
           JSON { token, metadata? (superjson) }. The token is claimed in this
           script as hook `hook_0` (a hook_created after run_created), so a
           resume succeeds from the moment start() returns; the workflow's
           createHook({ token }) adopts it (commitRun.lua hook_adopted).
  ARGV[12] that hook_created's data (superjson {token, isWebhook, claimed})

  Returns {0, runId} created | {1, runId} already existed (nothing written)
          | {-3, existingWorkflowName} the run id belongs to another workflow
          | {-13, holderRunId} the claimed token is held by another live hook
            (nothing written)
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "appendEvent"
--- @include "hookIndex"
--- @include "enqueueReplay"

local runKey, streamKey = KEYS[1], KEYS[2]
local runId, workflowName = ARGV[1], ARGV[2]

if ARGV[5] == '1' then
  local existing = redis.call('GET', KEYS[3])
  if existing then return { 1, existing } end
end
local existingName = redis.call('HGET', runKey, 'workflowName')
if existingName then
  if existingName ~= workflowName then return { ERR_ENTITY_CONFLICT, existingName } end
  return { 1, runId }
end

local claim = ARGV[11] ~= '' and cjson.decode(ARGV[11]) or nil
if claim then
  local holder = redis.call('HGET', KEYS[9], claim.token)
  if holder then return { ERR_HOOK_CONFLICT, cjson.decode(holder).runId } end
end

local now = nowMs()
redis.call('HSET', runKey, 'runId', runId, 'workflowName', workflowName, 'status', 'pending',
  'input', ARGV[4], 'createdAt', now, 'updatedAt', now, 'epoch', 0, 'version', ARGV[8], 'queue', ARGV[10])
if ARGV[6] ~= '' then redis.call('HSET', runKey, 'retainMs', ARGV[6]) end
if ARGV[5] == '1' then redis.call('HSET', runKey, 'idem', KEYS[3]) end
appendEvent(streamKey, runKey, 'run_created', '', ARGV[3], now)
if claim then
  local rec = { runId = runId, hookId = 'hook_0', token = claim.token, createdAt = now, isWebhook = false, claimed = true }
  if claim.metadata then rec.metadata = claim.metadata end
  claimToken(KEYS[9], rec)
  redis.call('HSET', KEYS[10], 'hook_0', cjson.encode({ t = claim.token, s = 'live' }))
  appendEvent(streamKey, runKey, 'hook_created', 'hook_0', ARGV[12], now)
end
redis.call('ZADD', KEYS[4], now, runId)
redis.call('ZADD', KEYS[5], now, runId)
redis.call('ZADD', KEYS[6], now, runId)
redis.call('ZADD', KEYS[7], now, runId)
redis.call('SADD', KEYS[8], ARGV[9])
if ARGV[5] == '1' then redis.call('SET', KEYS[3], runId) end
enqueueReplay(runId, now, ARGV[10], ARGV[7] ~= '' and ARGV[7] or nil)
return { OK, runId }
