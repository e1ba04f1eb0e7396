-- The step state machine, written once for every script that moves a step:
-- includes/commitRun.lua (a replay's step ops), startStep.lua and
-- finishStep.lua (the step queue). A step's state is the JSON of its field in
-- the run's steps hash: { n = name, s = status, a = attempts begun,
-- m = 'inline' | 'queue', i = input (superjson), st = first start time,
-- ra = retry time of a retrying step }; lib/redis/store-types.ts StepState.
--
--   pending --beginAttempt--> running --settleStep--> completed | failed
--      ^                                     |
--      +-------- settleStep(step_retrying) --+  (pending again, with ra)
--
-- A refused transition changes nothing and names the refusal as a commit op
-- result does (lib/redis/store-types.ts CommitResult): 'exists' = the step has
-- its result already, 'too_early' = its retry time has not come. The scripts
-- of the step queue answer them as ERR_ENTITY_CONFLICT and ERR_TOO_EARLY.

-- A new step (step_created), not started yet. mode: nil = 'queue'.
local function newStep(name, mode, input)
  return { n = name, s = 'pending', a = 0, m = mode or 'queue', i = input }
end

local function stepSettled(st)
  return st.s == 'completed' or st.s == 'failed'
end

-- step_started: the next attempt begins (attempt + 1, running). The first
-- attempt sets the step's first start time: wc (the worker's clock, an inline
-- step recorded after it ran) or now. Refused on a step with its result, and
-- before the retry time of a retrying step.
-- Returns nil (st changed) | 'exists' | 'too_early', retryAt.
local function beginAttempt(st, now, wc)
  if stepSettled(st) then return 'exists' end
  if st.ra and st.ra > now then return 'too_early', st.ra end
  st.a = st.a + 1; st.s = 'running'; st.ra = nil
  if not st.st then st.st = wc or now end
  return nil
end

-- A step result: t = 'step_completed' | 'step_failed' | 'step_retrying' (any
-- other type is taken as step_retrying); ra: the retry time (ms) of
-- step_retrying, when the step may begin its next attempt.
-- Refused on a step with its result. Returns nil (st changed) | 'exists'.
local function settleStep(st, t, ra)
  if stepSettled(st) then return 'exists' end
  if t == 'step_completed' then st.s = 'completed'
  elseif t == 'step_failed' then st.s = 'failed'
  else st.s = 'pending'; st.ra = ra end
  return nil
end
