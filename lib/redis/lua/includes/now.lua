-- Epoch milliseconds from the Redis server clock (never the caller's clock).
local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
