-- Puts the run on the BullMQ workflow queue through BullMQ's own addStandardJob
-- (wrapped as bullAddStandardJob by the script loader). The job's packed args,
-- data and opts were captured once from BullMQ's public Job#addJob with a
-- placeholder run id and timestamp (lib/queue/bullmq-contract.ts), which are
-- replaced here by byte pattern; the timestamp becomes server time.
-- Layout: the last 9 KEYS are BullMQ's; the last 8 ARGV are the template:
-- placeholder, packed dedup-key template, dedup-key template, packed timestamp
-- marker, packed args, job data (JSON), packed placeholder, packed opts.
-- Replaces the one occurrence of `needle` (the template was checked to hold it once).
local function replaceOnce(s, needle, repl)
  local i, j = string.find(s, needle, 1, true)
  return string.sub(s, 1, i - 1) .. repl .. string.sub(s, j + 1)
end

local function enqueueReplay(runId, now)
  local nk, na = #KEYS, #ARGV
  local k = {}
  for i = nk - 8, nk do k[#k + 1] = KEYS[i] end
  local slot = ARGV[na - 7]
  -- msgpack is self-delimiting: swapping one whole encoded value for another keeps the buffer valid.
  local args = replaceOnce(ARGV[na - 3], ARGV[na - 6], cmsgpack.pack(replaceOnce(ARGV[na - 5], slot, runId)))
  args = replaceOnce(args, ARGV[na - 4], cmsgpack.pack(now))
  local data = replaceOnce(ARGV[na - 2], slot, runId)
  local opts = replaceOnce(ARGV[na], ARGV[na - 1], cmsgpack.pack(runId))
  local jobId = bullAddStandardJob(k, { args, data, opts })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
