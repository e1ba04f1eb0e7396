-- One run's commit (commitReplay.lua, commitReplayBatch.lua): see commitReplay.lua
-- for the ops, the cursor, strict and the lease release.
-- Needs includes/codes, now, appendEvent, runStatus, liveRun, stepState,
-- waitState, releaseRunHooks (and its hookIndex), streamEnd, finishRun and startRun.
-- req: the commit, as the calling script reads it from its KEYS and ARGV:
--   keys: runKey, streamKey, stepsKey, waitsKey, runHooksKey, hooksKey (token
--         hash), leaseKey, resumesKey, expiringKey (expiring runs index),
--         streamsKey (the run's streams hash, closed with the run),
--         statusKeys (status -> index key, runStatus.lua statusKeyMap)
--   epoch    '' = not fenced, else the epoch the caller holds
--   opsJson  the ops (JSON array, lib/redis/store-types.ts CommitOp)
--   cursor   last event id the caller consumed ('' = return no events)
--   channel  run-finished pub/sub channel
--   strict   '1' = refuse when the stream has events after the cursor
--   owner    lease owner to release after the commit ('' = keep the lease)
--   start    '' or a new run's start spec (includes/startRun.lua)
--   now      server time of the commit (ms)
-- Returns the reply table {0, resultsJSON, unseen, now, released, startEpoch,
-- startEventId} or {errorCode, ...}.
local function commitRun(req)
  local runKey, streamKey, stepsKey, waitsKey = req.runKey, req.streamKey, req.stepsKey, req.waitsKey
  local runHooksKey, hooksKey, leaseKey, statusKeys = req.runHooksKey, req.hooksKey, req.leaseKey, req.statusKeys
  local cursor, owner, now = req.cursor, req.owner, req.now
  local startEpoch, startId = 0, ''
  -- begun: this commit starts a new run (see includes/startRun.lua); its steps,
  -- hooks and waits hashes are empty then, so they need not be read.
  local begun, status, runId, known
  if req.start and req.start ~= '' then
    local err
    begun, err = startRun(runKey, streamKey, leaseKey, req.start, now)
    if err then return err end
    startEpoch, startId = begun.epoch, begun.id
    status, runId, known = 'pending', begun.runId, begun.known
  else
    local run, err = loadLiveRun(runKey, req.epoch, KNOWN_RUN_FIELDS)
    if not run then return err end
    status, runId, known = run.status, run.runId, run
  end
  -- A started run's move to running waits for the end of the commit: a run
  -- that one commit starts and ends goes from pending to its end directly.
  local function markRunning()
    if begun and status == 'pending' then
      moveRunStatus(runKey, statusKeys, runId, 'pending', 'running', now, known.createdAt, { startedAt = begun.startedAt })
      status = 'running'
    end
  end
  local madeHooks, madeWaits = false, false

  -- Events others appended since the caller's cursor (hook payloads, step-queue
  -- results, timers): read before our appends, so they precede ours in the log.
  -- Read from the cursor itself: a log that no longer holds it lost acknowledged
  -- writes (failover, restart) that the caller's execution has consumed.
  local unseen = {}
  if cursor ~= '' then
    unseen = redis.call('XRANGE', streamKey, cursor, '+')
    if not unseen[1] or unseen[1][1] ~= cursor then return { ERR_LOG_REWOUND } end
    table.remove(unseen, 1)
  end
  if req.strict == '1' and #unseen > 0 then return { ERR_STALE } end

  local ops = cjson.decode(req.opsJson)
  local results = {}
  local finished = false

  local function getJson(key, field)
    local v = redis.call('HGET', key, field)
    if v then return cjson.decode(v) end
    return nil
  end

  -- Step states this commit changes: read back from here (step_created then
  -- step_started of one step, the usual pair) and written to the hash once, by
  -- flushSteps, in one HSET (a commit changes two steps' states in the usual case).
  local written, dirty = {}, {}
  local function getStep(c)
    return written[c] or (not begun and getJson(stepsKey, c)) or nil
  end
  local function putStep(c, st)
    written[c] = st
    dirty[#dirty + 1] = c
  end
  local function flushSteps()
    if #dirty == 0 then return end
    local args, done = {}, {}
    for _, c in ipairs(dirty) do
      if not done[c] then
        done[c] = true
        args[#args + 1] = c
        args[#args + 1] = cjson.encode(written[c])
      end
    end
    redis.call('HSET', stepsKey, unpack(args))
    dirty = {}
  end

  -- The event of an applied op: its type, correlation id and data (data: the
  -- op's own d unless the script composed it; eventType: unless it differs
  -- from the op's), with the op's wc (the worker's clock; step ops carry one).
  -- lib/redis/store.ts ownEvent rebuilds the same event from the op and its result.
  -- A hook's options from its op (hook_created, hook_adopted): metadata, tags, and
  -- a timeout, whose timer is a wait under the hook's id (includes/waitState.lua newHookTimeout).
  local function applyHookOptions(rec, op, c)
    if op.md then rec.metadata = op.md end
    if op.tg then rec.tags = op.tg end
    if op.to then
      rec.timeoutAt = op.to
      redis.call('HSET', waitsKey, c, cjson.encode(newHookTimeout(op.to)))
      madeWaits = true
    end
  end

  local function appendOp(op, data, eventType)
    return appendEvent(streamKey, runKey, eventType or op.t, op.c, data or op.d, now, op.wc)
  end

  for i, op in ipairs(ops) do
    local t, c = op.t, op.c
    local res = { r = 'ok' }
    if finished then
      res.r = 'skipped'
    elseif t == 'step_created' then
      if written[c] or (not begun and redis.call('HEXISTS', stepsKey, c) == 1) then res.r = 'exists'
      else
        putStep(c, newStep(op.n, op.m, op.i))
        -- op.wc: an inline step recorded after it ran carries the worker's clock at its start
        res.id = appendOp(op)
      end
    elseif t == 'step_started' then
      local st = getStep(c)
      if not st then res.r = 'missing'
      else
        local refused, at = beginAttempt(st, now, op.wc)
        if refused then res.r = refused; res.at = at
        else
          if op.m then st.m = op.m end
          putStep(c, st)
          -- What sjData({ attempt = st.a }) gives, built by hand: one per step, and cjson.encode costs more
          -- (the bytes are pinned by test/foundation/op-events.test.ts).
          res.id = appendOp(op, '{"json":{"attempt":' .. st.a .. '}}')
          res.attempt = st.a; res.startedAt = st.st
        end
      end
    elseif t == 'step_completed' or t == 'step_failed' or t == 'step_retrying' then
      local st = getStep(c)
      if not st then res.r = 'missing'
      else
        local refused = settleStep(st, t, op.ra)
        if refused then res.r = refused
        else
          putStep(c, st)
          -- op.wc: the workflow clock at this result, chosen by the worker (see Execution.feed)
          res.id = appendOp(op)
        end
      end
    elseif t == 'hook_created' then
      madeHooks = true
      local own = getJson(runHooksKey, c)
      if own then res.r = 'exists'
      else
        local holder = redis.call('HGET', hooksKey, op.tk)
        if holder then
          local h = cjson.decode(holder)
          redis.call('HSET', runHooksKey, c, cjson.encode({ t = op.tk, s = 'conflict' }))
          res.r = 'conflict'; res.conflictingRunId = h.runId
          res.d = sjData({ token = op.tk, conflictingRunId = h.runId })
          res.id = appendOp(op, res.d, 'hook_conflict')
        else
          local rec = { runId = runId, hookId = c, token = op.tk, createdAt = now, isWebhook = op.wh == true }
          if op.rw then rec.respondWith = op.rw end
          applyHookOptions(rec, op, c)
          claimToken(hooksKey, rec)
          redis.call('HSET', runHooksKey, c, cjson.encode({ t = op.tk, s = 'live' }))
          res.id = appendOp(op)
        end
      end
    elseif t == 'hook_adopted' then
      -- The workflow's createHook({ token }) took the hook start() claimed
      -- (createRun.lua): its options are applied to the live claim, once.
      local own = getJson(runHooksKey, c)
      if not own then res.r = 'missing'
      elseif own.s ~= 'live' or own.a then res.r = 'exists'
      else
        local raw = redis.call('HGET', hooksKey, own.t)
        local rec = raw and cjson.decode(raw)
        if not rec or rec.runId ~= runId then res.r = 'missing'
        else
          applyHookOptions(rec, op, c)
          rec.claimed = nil
          claimToken(hooksKey, rec)
          own.a = true
          redis.call('HSET', runHooksKey, c, cjson.encode(own))
          res.id = appendOp(op)
        end
      end
    elseif t == 'hook_disposed' then
      local own = getJson(runHooksKey, c)
      if not own then res.r = 'missing'
      elseif own.s ~= 'live' then res.r = 'exists'
      else
        releaseToken(hooksKey, own.t, runId)
        -- A pending timeout of the hook has nothing left to time out.
        redis.call('HDEL', waitsKey, c)
        own.s = 'disposed'
        redis.call('HSET', runHooksKey, c, cjson.encode(own))
        res.id = appendOp(op)
      end
    elseif t == 'wait_created' then
      madeWaits = true
      if redis.call('HEXISTS', waitsKey, c) == 1 then res.r = 'exists'
      else
        redis.call('HSET', waitsKey, c, cjson.encode(newWait(op.at)))
        res.id = appendOp(op)
      end
    elseif t == 'wait_completed' then
      local w = getJson(waitsKey, c)
      if not w then res.r = 'missing'
      else
        local refused, at = completeWait(w, now)
        if refused then res.r = refused; res.at = at
        else
          redis.call('HSET', waitsKey, c, cjson.encode(w))
          res.id = appendOp(op)
        end
      end
    elseif t == 'patch_applied' then
      -- A patch marker (lib/replay/patches.ts): no state to check or index. The replay
      -- commits it once per patch id (a decision at the tip, until the marker is consumed).
      res.id = appendOp(op)
    elseif t == 'run_completed' or t == 'run_failed' then
      local to = 'completed'
      local fields = { output = op.out }
      if t == 'run_failed' then to = 'failed'; fields = { error = op.err } end
      flushSteps() -- before finishRun sets the run's keys to expire (retention)
      if begun then
        fields.startedAt = begun.startedAt
        known.noHooks, known.noWaits = not madeHooks, not madeWaits
      end
      -- (finishRun appends the op's event, as cancelRun.lua's run_cancelled)
      res.id = finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeys, runId, status, to,
        t, op.d, fields, req.channel, now, { steps = stepsKey, resumes = req.resumesKey, expiring = req.expiringKey, streams = req.streamsKey }, known)
      finished = true
    else
      flushSteps() -- what the ops before this one appended keeps its step states
      markRunning()
      if begun then redis.call('SET', leaseKey, begun.owner, 'PX', begun.ttl) end
      return redis.error_reply('WFR_BAD_OP ' .. tostring(t))
    end
    results[i] = res
  end
  flushSteps()

  if not finished then markRunning() end

  local released = 0
  -- A new run's lease is set only now, and not at all when this commit releases it.
  local holds = begun ~= nil
  if begun and owner == '' then redis.call('SET', leaseKey, begun.owner, 'PX', begun.ttl) end
  if owner ~= '' and #unseen == 0 and (holds or redis.call('GET', leaseKey) == owner) then
    if not holds then redis.call('DEL', leaseKey) end
    -- What releaseRun records: the replay has consumed the log up to its tail.
    local last = cursor
    for i = #results, 1, -1 do
      if results[i].id then last = results[i].id; break end
    end
    if last ~= '' and not finished then redis.call('HSET', runKey, 'seen', last) end
    released = 1
  end
  return { OK, cjson.encode(results), unseen, now, released, startEpoch, startId }
end
