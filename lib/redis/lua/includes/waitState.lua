-- The wait (sleep) state machine, written once for includes/commitRun.lua
-- (wait ops of a replay) and completeWait.lua (the timer). A wait's state is
-- the JSON of its field in the run's waits hash: { s = 'waiting' |
-- 'completed', at = resume time (ms) }; lib/redis/store-types.ts WaitState.
--
--   waiting --completeWait (at <= now)--> completed
--
-- A refused transition changes nothing and names the refusal as a commit op
-- result does: 'exists' = completed already, 'too_early' = before its time.

-- A hook's timeout (createHook({ timeout })) is a wait too, under the hook's
-- id, with k = 'hook': the same timer job fires it, and completeWait.lua then
-- times the hook out instead of appending wait_completed.

-- A new wait (wait_created) that resumes at `at` (ms).
local function newWait(at)
  return { s = 'waiting', at = at }
end

-- The timer of a hook's timeout at `at` (ms).
local function newHookTimeout(at)
  return { s = 'waiting', at = at, k = 'hook' }
end

-- wait_completed. Returns nil (w changed) | 'exists' | 'too_early', resumeAt.
local function completeWait(w, now)
  if w.s ~= 'waiting' then return 'exists' end
  if w.at > now then return 'too_early', w.at end
  w.s = 'completed'
  return nil
end
