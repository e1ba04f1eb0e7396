-- Claims and releases of hook tokens, with the tag indexes kept in step: every
-- script that writes or deletes a token's record (commitRun, createRun,
-- releaseRunHooks, the hook timeout in completeWait.lua) goes through these.
-- A tagged hook is a member of one sorted set per tag (token -> its claim
-- sequence number, from a per-prefix counter), so resumeHooksByTag.lua pages
-- through the hooks of a tag in claim order and can stop at the last hook
-- claimed before a call began. Key names come from lib/redis/keys.ts: the
-- loader (lib/redis/scripts.ts) compiles them in on the line below as
-- HOOK_TAG_TEMPLATE (the tag in place of a NUL byte) and HOOK_TAG_SEQ.
--- @include "fillTemplate"
--- @hook-keys

local function hookTagKey(tag)
  return fillTemplate(HOOK_TAG_TEMPLATE, tag)
end

-- Writes a token's hook record (a table) and indexes its tags (rec.tags).
local function claimToken(hooksKey, rec)
  if rec.tags and #rec.tags > 0 then
    rec.seq = redis.call('INCR', HOOK_TAG_SEQ)
    for _, tag in ipairs(rec.tags) do redis.call('ZADD', hookTagKey(tag), rec.seq, rec.token) end
  end
  redis.call('HSET', hooksKey, rec.token, cjson.encode(rec))
end

-- Deletes a token's record and its tag index entries, only while the record
-- still belongs to runId (another run may hold the token since).
local function releaseToken(hooksKey, token, runId)
  local raw = redis.call('HGET', hooksKey, token)
  if not raw then return end
  local rec = cjson.decode(raw)
  if rec.runId ~= runId then return end
  redis.call('HDEL', hooksKey, token)
  if type(rec.tags) == 'table' then
    for _, tag in ipairs(rec.tags) do redis.call('ZREM', hookTagKey(tag), token) end
  end
end
