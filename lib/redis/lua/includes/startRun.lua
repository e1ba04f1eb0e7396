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
-- Needs includes/liveRun.lua and includes/finishRun.lua (KNOWN_RUN_FIELDS).
-- Returns the start { epoch, id, startedAt, ttl, owner, runId, known = run
-- hash fields for finishRun } | nil, error reply table.
local function startRun(runKey, streamKey, leaseKey, spec, now)
  local ttl, startedAt, owner = string.match(spec, '^(%d+):(%d+):(.+)$')
  if not owner then return nil, { ERR_SCRIPT, 'malformed start spec' } end
  local run, err = loadLiveRun(runKey, '', KNOWN_RUN_FIELDS)
  if not run then return nil, err end
  if run.status ~= 'pending' or run.epoch ~= '0' or redis.call('EXISTS', leaseKey) == 1 or redis.call('XLEN', streamKey) ~= 1 then
    return nil, { ERR_STALE }
  end
  local epoch = redis.call('HINCRBY', runKey, 'epoch', 1)
  local id = appendEvent(streamKey, runKey, 'run_started', '', sjData({}), now, startedAt)
  return { epoch = epoch, id = id, startedAt = startedAt, ttl = ttl, owner = owner, runId = run.runId, known = run }, nil
end
