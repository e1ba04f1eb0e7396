-- Puts the run on the BullMQ workflow queue through BullMQ's own addStandardJob
-- (wrapped as bullAddStandardJob by the script loader). The job's packed args,
-- data and opts were captured once from BullMQ's public Job#addJob with a
-- placeholder run id, which is replaced here; the timestamp is server time.
-- Layout: the last 9 KEYS are BullMQ's, the last 4 ARGV are
-- placeholder, packed args, job data (JSON), packed opts.
local function replacePlain(s, needle, repl)
  local out, from = {}, 1
  while true do
    local i, j = string.find(s, needle, from, true)
    if not i then break end
    out[#out + 1] = string.sub(s, from, i - 1)
    out[#out + 1] = repl
    from = j + 1
  end
  out[#out + 1] = string.sub(s, from)
  return table.concat(out)
end

local function substituteSlot(v, slot, runId)
  if type(v) == 'string' then
    if string.find(v, slot, 1, true) then return replacePlain(v, slot, runId) end
    return v
  elseif type(v) == 'table' then
    for k, x in pairs(v) do v[k] = substituteSlot(x, slot, runId) end
  end
  return v
end

local function enqueueReplay(runId, now)
  local nk, na = #KEYS, #ARGV
  local k = {}
  for i = nk - 8, nk do k[#k + 1] = KEYS[i] end
  local slot = ARGV[na - 3]
  local args = substituteSlot(cmsgpack.unpack(ARGV[na - 2]), slot, runId)
  args[4] = now
  local data = replacePlain(ARGV[na - 1], slot, runId)
  local opts = substituteSlot(cmsgpack.unpack(ARGV[na]), slot, runId)
  local jobId = bullAddStandardJob(k, { cmsgpack.pack(args), data, cmsgpack.pack(opts) })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
