--[[
  Puts a pending or running run on its replay queue (reconciler, operator
  tools). Deduplicated like every wake-up: a waiting job absorbs it, an active
  one gets a follow-up.

  KEYS[1] run hash (its `queue` field names the route's replay queue)
  (no ARGV: the job template is compiled in, see includes/enqueueReplay.lua)

  Returns {0, jobId} | {-1} no run (or a run of the official-SDK World,
          kind = wdk: the official runtime wakes those) | {-2, status} run finished
]]
--- @bullmq
--- @include "codes"
--- @include "now"
--- @include "runStatus"
--- @include "liveRun"
--- @include "enqueueReplay"

local run, err = loadLiveRun(KEYS[1], nil, { 'queue', 'kind' })
if not run then return err end
if run.kind == 'wdk' then return { ERR_RUN_NOT_FOUND } end
return { OK, enqueueReplay(run.runId, nowMs(), run.queue) }
