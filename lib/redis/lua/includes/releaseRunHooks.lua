-- Releases every live hook token of a run (terminal transitions). A token is
-- deleted only while its record still belongs to this run.
--- @include "hookIndex"
local function releaseRunHooks(runHooksKey, hooksKey, runId)
  local all = redis.call('HGETALL', runHooksKey)
  for i = 1, #all, 2 do
    local st = cjson.decode(all[i + 1])
    if st.s == 'live' then
      releaseToken(hooksKey, st.t, runId)
      st.s = 'released'
      redis.call('HSET', runHooksKey, all[i], cjson.encode(st))
    end
  end
end
