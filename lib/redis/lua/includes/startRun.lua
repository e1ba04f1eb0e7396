-- run_started fused into a new run's first commit: the worker ran the code of
-- a new run (from the start hint in its first replay job) up to its first
-- intents before taking the lease, and takes it with them, in one call.
-- Only a run nobody has started yet qualifies (pending, epoch 0, no lease,
-- nothing in its log but run_created); anything else answers ERR_STALE and
-- writes nothing, and the worker takes the usual way (acquireRun, replay).
-- spec: '<lease ttl ms>:<startedAt ms>:<lease owner>'. startedAt is the
-- worker's clock when the code began (the workflow clock of the run's start),
-- recorded as the run's startedAt and as run_started's wc.
-- This bumps the epoch and appends run_started; commitRun then moves the run
-- to running (or straight to its end) and sets the lease (or not at all, when
-- the same commit releases it), once it knows what the commit did.
-- Returns the start { epoch, id, startedAt, ttl, owner, runId, known = run
-- hash fields for finishRun } | nil, error reply table.
local function startRun(runKey, streamKey, leaseKey, spec, now)
  local ttl, startedAt, owner = string.match(spec, '^(%d+):(%d+):(.+)$')
  if not owner then return nil, { ERR_SCRIPT, 'malformed start spec' } end
  local r = redis.call('HMGET', runKey, 'status', 'runId', 'epoch', 'createdAt', 'retainMs', 'workflowName', 'idem')
  if not r[1] then return nil, { ERR_RUN_NOT_FOUND } end
  if TERMINAL[r[1]] then return nil, { ERR_RUN_EXPIRED, r[1] } end
  if r[1] ~= 'pending' or r[3] ~= '0' or redis.call('EXISTS', leaseKey) == 1 or redis.call('XLEN', streamKey) ~= 1 then
    return nil, { ERR_STALE }
  end
  local epoch = redis.call('HINCRBY', runKey, 'epoch', 1)
  local id = appendEvent(streamKey, runKey, 'run_started', '', sjData({}), now, startedAt)
  return { epoch = epoch, id = id, startedAt = startedAt, ttl = ttl, owner = owner, runId = r[2],
    known = { createdAt = r[4], retainMs = r[5], workflowName = r[6], idem = r[7] } }, nil
end
