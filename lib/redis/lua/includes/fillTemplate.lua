-- Puts a run id into a key template built by lib/redis/keys.ts (runTemplates):
-- the template holds one NUL byte where the run id goes.
local function fillTemplate(template, runId)
  local i = string.find(template, '\0', 1, true)
  return string.sub(template, 1, i - 1) .. runId .. string.sub(template, i + 1)
end
