-- Releases every live hook token of a run (terminal transitions). A token is
-- deleted only while its record still belongs to this run.
local function releaseRunHooks(runHooksKey, hooksKey, runId)
  local all = redis.call('HGETALL', runHooksKey)
  for i = 1, #all, 2 do
    local st = cjson.decode(all[i + 1])
    if st.s == 'live' then
      local rec = redis.call('HGET', hooksKey, st.t)
      if rec and cjson.decode(rec).runId == runId then redis.call('HDEL', hooksKey, st.t) end
      st.s = 'released'
      redis.call('HSET', runHooksKey, all[i], cjson.encode(st))
    end
  end
end
