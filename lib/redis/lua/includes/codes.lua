-- Return codes, shared with lib/errors/lua-codes.ts (LuaCode).
local OK = 0
local ERR_RUN_NOT_FOUND = -1
local ERR_RUN_EXPIRED = -2
local ERR_ENTITY_CONFLICT = -3
local ERR_HOOK_NOT_FOUND = -4
local ERR_TOO_EARLY = -5
local ERR_FENCED = -6
local ERR_LEASE_BUSY = -7
local ERR_STEP_NOT_FOUND = -8
local ERR_WAIT_NOT_FOUND = -9
local ERR_QUEUE_ADD_FAILED = -10
local ERR_STALE = -11
local ERR_LOG_REWOUND = -12
local ERR_HOOK_CONFLICT = -13
local ERR_TOO_MANY_HOOKS = -14
local ERR_STREAM_CLOSED = -20
local ERR_SCRIPT = -100
