-- Reads a run that a script is about to change, and refuses a run that is
-- gone, finished or (with an epoch) taken over by another replay.
-- Needs includes/codes.lua and includes/runStatus.lua (TERMINAL).
-- epoch: '' / nil = not fenced, else the epoch the caller holds.
-- extra: more run hash fields to read in the same HMGET (nil = none).
-- Returns run = { status, runId, epoch, <each extra field> } (a field the
-- hash lacks is false, as HMGET gives it)
-- | nil, error reply: {ERR_RUN_NOT_FOUND} | {ERR_FENCED} | {ERR_RUN_EXPIRED, status}.
local function loadLiveRun(runKey, epoch, extra)
  local names = { 'status', 'runId', 'epoch' }
  if extra then
    for _, f in ipairs(extra) do names[#names + 1] = f end
  end
  local r = redis.call('HMGET', runKey, unpack(names))
  if not r[1] then return nil, { ERR_RUN_NOT_FOUND } end
  if epoch and epoch ~= '' and r[3] ~= epoch then return nil, { ERR_FENCED } end
  if TERMINAL[r[1]] then return nil, { ERR_RUN_EXPIRED, r[1] } end
  local run = {}
  for i, f in ipairs(names) do run[f] = r[i] end
  return run, nil
end
