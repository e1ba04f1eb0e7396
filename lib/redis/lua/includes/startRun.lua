-- run_started fused into a new run's first commit: the worker ran the code of
-- a new run (from the start hint in its first replay job) up to its first
-- intents before taking the lease, and takes it here with them, in one call.
-- Only a run nobody has started yet qualifies (pending, epoch 0, no lease,
-- nothing in its log but run_created); anything else answers ERR_STALE and
-- writes nothing, and the worker takes the usual way (acquireRun, replay).
-- spec: '<lease ttl ms>:<startedAt ms>:<lease owner>'. startedAt is the
-- worker's clock when the code began (the workflow clock of the run's start),
-- recorded as the run's startedAt and as run_started's wc.
-- Returns epoch, run_started id | nil, error reply table.
local function startRun(runKey, streamKey, leaseKey, statusKeys, spec, now)
  local ttl, startedAt, owner = string.match(spec, '^(%d+):(%d+):(.+)$')
  if not owner then return nil, nil, { ERR_SCRIPT, 'malformed start spec' } end
  local r = redis.call('HMGET', runKey, 'status', 'runId', 'epoch', 'createdAt')
  if not r[1] then return nil, nil, { ERR_RUN_NOT_FOUND } end
  if TERMINAL[r[1]] then return nil, nil, { ERR_RUN_EXPIRED, r[1] } end
  if r[1] ~= 'pending' or r[3] ~= '0' or redis.call('EXISTS', leaseKey) == 1 or redis.call('XLEN', streamKey) ~= 1 then
    return nil, nil, { ERR_STALE }
  end
  redis.call('SET', leaseKey, owner, 'PX', ttl)
  local epoch = redis.call('HINCRBY', runKey, 'epoch', 1)
  local id = appendEvent(streamKey, runKey, 'run_started', '', sjData({}), now, startedAt)
  moveRunStatus(runKey, statusKeys, r[2], 'pending', 'running', now, r[4], { startedAt = startedAt })
  return epoch, id, nil
end
