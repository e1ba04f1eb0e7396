-- Puts the run on the BullMQ workflow queue through BullMQ's own addStandardJob
-- (wrapped as bullAddStandardJob by the script loader). The job's packed args,
-- data and opts were captured once from BullMQ's public Job#addJob with a
-- placeholder run id and timestamp (lib/queue/bullmq-contract.ts), which are
-- replaced here by byte pattern; the timestamp becomes server time.
-- Layout: the last 9 KEYS are BullMQ's; the last 8 ARGV are the template:
-- placeholder, packed dedup-key template, dedup-key template, packed timestamp
-- marker, packed args, job data (JSON), packed placeholder, packed opts.
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

local function enqueueReplay(runId, now)
  local nk, na = #KEYS, #ARGV
  local k = {}
  for i = nk - 8, nk do k[#k + 1] = KEYS[i] end
  local slot = ARGV[na - 7]
  -- msgpack is self-delimiting: swapping one whole encoded value for another keeps the buffer valid.
  local args = replacePlain(ARGV[na - 3], ARGV[na - 6], cmsgpack.pack(replacePlain(ARGV[na - 5], slot, runId)))
  args = replacePlain(args, ARGV[na - 4], cmsgpack.pack(now))
  local data = replacePlain(ARGV[na - 2], slot, runId)
  local opts = replacePlain(ARGV[na], ARGV[na - 1], cmsgpack.pack(runId))
  local jobId = bullAddStandardJob(k, { args, data, opts })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
