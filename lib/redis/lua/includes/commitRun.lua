-- One run's commit (commitReplay.lua, commitReplayBatch.lua): see commitReplay.lua
-- for the ops, the cursor, strict and the lease release. Returns the reply
-- table {0, resultsJSON, unseen, now, released, startEpoch, startEventId} or
-- {errorCode, ...}. start: '' or a new run's start spec (includes/startRun.lua).
local function commitRun(runKey, streamKey, stepsKey, waitsKey, runHooksKey, hooksKey, leaseKey, statusKeys,
                         epoch, opsJson, cursor, channel, strict, owner, now, resumesKey, expiringKey, start)
  local startEpoch, startId = 0, ''
  -- begun: this commit starts a new run (see includes/startRun.lua); its steps,
  -- hooks and waits hashes are empty then, so they need not be read.
  local begun, status, runId, known
  if start and start ~= '' then
    local err
    begun, err = startRun(runKey, streamKey, leaseKey, start, now)
    if err then return err end
    startEpoch, startId, epoch = begun.epoch, begun.id, tostring(begun.epoch)
    status, runId, known = 'pending', begun.runId, begun.known
  else
    local r = redis.call('HMGET', runKey, 'status', 'runId', 'epoch', 'createdAt', 'retainMs', 'workflowName', 'idem')
    status, runId = r[1], r[2]
    if not status then return { ERR_RUN_NOT_FOUND } end
    if epoch ~= '' and r[3] ~= epoch then return { ERR_FENCED } end
    if TERMINAL[status] then return { ERR_RUN_EXPIRED, status } end
    known = { createdAt = r[4], retainMs = r[5], workflowName = r[6], idem = r[7] }
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
  if strict == '1' and #unseen > 0 then return { ERR_STALE } end

  local ops = cjson.decode(opsJson)
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

  for i, op in ipairs(ops) do
    local t, c = op.t, op.c
    local res = { r = 'ok' }
    if finished then
      res.r = 'skipped'
    elseif t == 'step_created' then
      if written[c] or (not begun and redis.call('HEXISTS', stepsKey, c) == 1) then res.r = 'exists'
      else
        putStep(c, { n = op.n, s = 'pending', a = 0, m = op.m or 'queue', i = op.i })
        -- op.wc: an inline step recorded after it ran carries the worker's clock at its start
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now, op.wc)
      end
    elseif t == 'step_started' then
      local st = getStep(c)
      if not st then res.r = 'missing'
      elseif st.s == 'completed' or st.s == 'failed' then res.r = 'exists'
      elseif st.ra and st.ra > now then res.r = 'too_early'; res.at = st.ra
      else
        st.a = st.a + 1; st.s = 'running'; st.ra = nil
        if not st.st then st.st = op.wc or now end
        if op.m then st.m = op.m end
        putStep(c, st)
        res.id = appendEvent(streamKey, runKey, t, c, '{"json":{"attempt":' .. st.a .. '}}', now, op.wc)
        res.attempt = st.a; res.startedAt = st.st
      end
    elseif t == 'step_completed' or t == 'step_failed' or t == 'step_retrying' then
      local st = getStep(c)
      if not st then res.r = 'missing'
      elseif st.s == 'completed' or st.s == 'failed' then res.r = 'exists'
      else
        if t == 'step_completed' then st.s = 'completed'
        elseif t == 'step_failed' then st.s = 'failed'
        else st.s = 'pending'; st.ra = op.ra end
        putStep(c, st)
        -- op.wc: the workflow clock at this result, chosen by the worker (see Execution.feed)
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now, op.wc)
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
          res.id = appendEvent(streamKey, runKey, 'hook_conflict', c, res.d, now)
        else
          local rec = { runId = runId, hookId = c, token = op.tk, createdAt = now, isWebhook = op.wh == true }
          if op.md then rec.metadata = op.md end
          if op.rw then rec.respondWith = op.rw end
          redis.call('HSET', hooksKey, op.tk, cjson.encode(rec))
          redis.call('HSET', runHooksKey, c, cjson.encode({ t = op.tk, s = 'live' }))
          res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
        end
      end
    elseif t == 'hook_disposed' then
      local own = getJson(runHooksKey, c)
      if not own then res.r = 'missing'
      elseif own.s ~= 'live' then res.r = 'exists'
      else
        local rec = redis.call('HGET', hooksKey, own.t)
        if rec and cjson.decode(rec).runId == runId then redis.call('HDEL', hooksKey, own.t) end
        own.s = 'disposed'
        redis.call('HSET', runHooksKey, c, cjson.encode(own))
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
      end
    elseif t == 'wait_created' then
      madeWaits = true
      if redis.call('HEXISTS', waitsKey, c) == 1 then res.r = 'exists'
      else
        redis.call('HSET', waitsKey, c, cjson.encode({ s = 'waiting', at = op.at }))
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
      end
    elseif t == 'wait_completed' then
      local w = getJson(waitsKey, c)
      if not w then res.r = 'missing'
      elseif w.s ~= 'waiting' then res.r = 'exists'
      elseif w.at > now then res.r = 'too_early'; res.at = w.at
      else
        w.s = 'completed'
        redis.call('HSET', waitsKey, c, cjson.encode(w))
        res.id = appendEvent(streamKey, runKey, t, c, op.d, now)
      end
    elseif t == 'run_completed' or t == 'run_failed' then
      local to = 'completed'
      local fields = { output = op.out }
      if t == 'run_failed' then to = 'failed'; fields = { error = op.err } end
      flushSteps() -- before finishRun sets the run's keys to expire (retention)
      if begun then
        fields.startedAt = begun.startedAt
        known.noHooks, known.noWaits = not madeHooks, not madeWaits
      end
      res.id = finishRun(runKey, streamKey, waitsKey, runHooksKey, hooksKey, statusKeys, runId, status, to,
        t, op.d, fields, channel, now, { steps = stepsKey, resumes = resumesKey, expiring = expiringKey }, known)
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
