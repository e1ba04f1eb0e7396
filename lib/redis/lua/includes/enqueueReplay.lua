-- Puts a run on its route's BullMQ replay queue (workflows/<name>@<version>)
-- through BullMQ's own addStandardJob (wrapped as bullAddStandardJob by the
-- script loader). The job's keys, packed args, data and opts were captured
-- once from BullMQ's public Job#addJob, for a queue named by a placeholder,
-- with a placeholder run id and timestamp (lib/queue/bullmq-contract.ts), and
-- cut around those places, so that here they are only joined again with this
-- run's queue, id and the server time (msgpack is self-delimiting: a whole
-- encoded value is swapped for another, the buffer stays valid).
-- The template is compiled into the script by the loader (lib/redis/scripts.ts)
-- as REPLAY_JOB, on the line below: keys (each {before, after} the queue name),
-- args (before the key prefix, after it, between the deduplication key and the
-- timestamp, after both), keyPrefix, order ('d': deduplication key first,
-- 't': timestamp first), dedup (around queue and run id), data, opts.
--- @replay-job-parts
local function replayJob()
  return REPLAY_JOB
end

-- queue: the run's replay queue name (the run hash's `queue` field). A run
-- stored before versions existed has none: nothing is enqueued (the reconciler
-- adopts such runs as version 1 and wakes them; lib/worker/reconciler.ts).
-- jobData: the job's data JSON when the caller built it (createRun's start
-- hint); nil = the template's {"runId": ...}.
local function enqueueReplay(runId, now, queue, jobData)
  if not queue then return nil end
  local p = replayJob()
  local k = {}
  for i, kk in ipairs(p.keys) do k[i] = kk[1] .. queue .. kk[2] end
  local prefix = cmsgpack.pack(p.keyPrefix[1] .. queue .. p.keyPrefix[2])
  local x = cmsgpack.pack(p.dedup[1] .. queue .. p.dedup[2] .. runId .. p.dedup[3])
  local y = cmsgpack.pack(now)
  if p.order == 't' then x, y = y, x end
  local args = p.args[1] .. prefix .. p.args[2] .. x .. p.args[3] .. y .. p.args[4]
  local data = jobData or (p.data[1] .. runId .. p.data[2])
  local opts = p.opts[1] .. cmsgpack.pack(runId) .. p.opts[2]
  local jobId = bullAddStandardJob(k, { args, data, opts })
  if type(jobId) == 'number' and jobId < 0 then
    return redis.error_reply('WFR_QUEUE_ADD_FAILED ' .. jobId)
  end
  return jobId
end
