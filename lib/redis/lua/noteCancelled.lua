--[[
  Claims the one log line of a run's cancellation: the first worker that
  observes the cancelled run (a refused commit, lease or step result) logs
  it; every later observer, on any worker, is told it was logged already.

  KEYS[1] run hash

  Returns 1 for the first caller; 0 after it, or when the run is not
  cancelled (or gone: nothing is written to a run that no longer exists).
]]
if redis.call('HGET', KEYS[1], 'status') ~= 'cancelled' then return 0 end
return redis.call('HSETNX', KEYS[1], 'cancelLogged', '1')
