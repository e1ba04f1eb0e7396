// Copies the Lua scripts next to the compiled JavaScript (dist/redis/lua).
import { cpSync } from 'node:fs';
import { URL } from 'node:url';
cpSync(new URL('../lib/redis/lua', import.meta.url), new URL('../dist/redis/lua', import.meta.url), { recursive: true });
