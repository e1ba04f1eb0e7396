-- Puts the run on the BullMQ workflow queue through BullMQ's own addStandardJob
-- (wrapped as bullAddStandardJob by the script loader). The job's packed args,
-- data and opts were captured once from BullMQ's public Job#addJob with a
-- placeholder run id and timestamp (lib/queue/bullmq-contract.ts) and cut
-- around those places, so that here they are only joined again with this
-- run's id and the server time (msgpack is self-delimiting: a whole encoded
-- value is swapped for another, the buffer stays valid).
-- Layout: the last 9 KEYS are BullMQ's; the last 10 ARGV are the template:
-- args head, middle, tail; order ('d': dedup key first, 't': timestamp first);
-- dedup key head, tail; data head, tail; opts head, tail.
local function enqueueReplay(runId, now)
  local nk, b = #KEYS, #ARGV - 10
  local k = {}
  for i = nk - 8, nk do k[#k + 1] = KEYS[i] end
  local x, y = cmsgpack.pack(ARGV[b + 5] .. runId .. ARGV[b + 6]), cmsgpack.pack(now)
  if ARGV[b + 4] == 't' then x, y = y, x end
  local args = ARGV[b + 1] .. x .. ARGV[b + 2] .. y .. ARGV[b + 3]
  local data = ARGV[b + 7] .. runId .. ARGV[b + 8]
  local opts = ARGV[b + 9] .. cmsgpack.pack(runId) .. ARGV[b + 10]
  local jobId = bullAddStandardJob(k, { args, data, opts })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
