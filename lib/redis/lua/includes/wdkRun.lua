-- Shared pieces of the official-SDK World's entry scripts (wdkCreateRun,
-- wdkStartRun, wdkEvent, wdkCancelRun; lib/world/transitions.ts). Their runs
-- are native runs in layout (run hash, event stream, steps/waits/hooks hashes,
-- token hash, status indexes) with `kind = wdk`, opaque payload text from the
-- caller (superjson of the official bytes: Lua never parses it) and dense slot
-- event ids (includes/appendEvent.lua EVENT_IDS).
--
-- Every World script gets the same keys (lib/world/transitions.ts worldKeys):
--   KEYS[1] run hash   KEYS[2] event stream   KEYS[3] steps   KEYS[4] waits
--   KEYS[5] run hooks  KEYS[6] run resumes (dedup claims)     KEYS[7] token hash
--   KEYS[8] correlation index (id -> run id)  KEYS[9] expiring runs index
--   KEYS[10] the run's streams hash           KEYS[11..15] status indexes
--   KEYS[16] runs index (all)                 KEYS[17] runs index of the workflow
-- and ARGV[1] run id, ARGV[2] run-finished channel.

local W = {
  run = KEYS[1], events = KEYS[2], steps = KEYS[3], waits = KEYS[4], runHooks = KEYS[5],
  resumes = KEYS[6], hooks = KEYS[7], corr = KEYS[8], expiring = KEYS[9], streams = KEYS[10],
  all = KEYS[16], byWorkflow = KEYS[17],
}
W.status = statusKeyMap(11)
W.retain = { steps = W.steps, resumes = W.resumes, expiring = W.expiring, streams = W.streams }

-- Creates a pending World run and its run_created event (slot 1). c: { runId,
-- workflowName, deploymentId, sv, input, ctx, attrs, data } (texts as given).
local function wdkCreateRunEntity(c, now)
  local fields = { 'runId', c.runId, 'kind', 'wdk', 'workflowName', c.workflowName, 'deploymentId', c.deploymentId,
    'status', 'pending', 'sv', c.sv, 'input', c.input, 'attrs', c.attrs, 'createdAt', now, 'updatedAt', now }
  if c.ctx ~= '' then
    fields[#fields + 1] = 'ctx'
    fields[#fields + 1] = c.ctx
  end
  redis.call('HSET', W.run, unpack(fields))
  redis.call('ZADD', W.all, now, c.runId)
  redis.call('ZADD', W.status.pending, now, c.runId)
  redis.call('ZADD', W.byWorkflow, now, c.runId)
  return appendEvent(W.events, W.run, 'run_created', '', c.data, now)
end

-- The slot number of a stream id `0-<n>`.
local function slotOf(id)
  return tonumber(string.sub(id, 3))
end

-- Up to `limit` events after slot `after` (0 = from the start), and whether more follow.
local function eventsAfter(after, limit)
  local page = redis.call('XRANGE', W.events, '(0-' .. after, '+', 'COUNT', limit + 1)
  local more = 0
  if #page > limit then
    page[#page] = nil
    more = 1
  end
  return page, more
end
