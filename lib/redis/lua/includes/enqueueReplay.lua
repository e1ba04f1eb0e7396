-- Puts the run on the BullMQ workflow queue through BullMQ's own addStandardJob
-- (wrapped as bullAddStandardJob by the script loader). The job's packed args,
-- data and opts were captured once from BullMQ's public Job#addJob with a
-- placeholder run id and timestamp (lib/queue/bullmq-contract.ts) and cut
-- around those places, so that here they are only joined again with this
-- run's id and the server time (msgpack is self-delimiting: a whole encoded
-- value is swapped for another, the buffer stays valid).
-- Layout: the last 9 KEYS are BullMQ's. The ten parts are compiled into the
-- script by the loader (lib/redis/scripts.ts) as REPLAY_JOB_PARTS, on the line
-- below: args head, middle, tail; order ('d': dedup key first, 't': timestamp
-- first); dedup key head, tail; data head, tail; opts head, tail.
--- @replay-job-parts
local function templateParts()
  return REPLAY_JOB_PARTS
end

-- jobData: the job's data JSON when the caller built it (createRun's start
-- hint); nil = the template's {"runId": ...}.
local function enqueueReplay(runId, now, jobData)
  local nk, p = #KEYS, templateParts()
  local k = {}
  for i = nk - 8, nk do k[#k + 1] = KEYS[i] end
  local x, y = cmsgpack.pack(p[5] .. runId .. p[6]), cmsgpack.pack(now)
  if p[4] == 't' then x, y = y, x end
  local args = p[1] .. x .. p[2] .. y .. p[3]
  local data = jobData or (p[7] .. runId .. p[8])
  local opts = p[9] .. cmsgpack.pack(runId) .. p[10]
  local jobId = bullAddStandardJob(k, { args, data, opts })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
