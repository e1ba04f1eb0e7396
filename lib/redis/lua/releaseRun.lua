--[[
  Ends a replay: drops the lease if this owner still holds it, and records the
  last event id the replay consumed (the reconciler compares it with the tail).

  KEYS[1] run hash   KEYS[2] lease
  ARGV[1] owner      ARGV[2] epoch   ARGV[3] last consumed event id
  Returns 1 when the lease was released, 0 when another owner held it.
]]
if redis.call('HGET', KEYS[1], 'epoch') == ARGV[2] and ARGV[3] ~= '' then
  redis.call('HSET', KEYS[1], 'seen', ARGV[3])
end
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
