-- configure.lua: set or clear one config field (a node's, or a project's default user config).
-- KEYS[1] scope hash (layout: lib.lua)
-- ARGV[1] config field, [2] '<limit>|<period>' or '' to clear
-- Returns {'not_loaded'} | {'configured'}
-- Guarantees: only a loaded scope changes, and only the config: every node keeps a counter of
-- every period kind, so what was committed counts under the new config at once.
local s = KEYS[1]
if not is_loaded(s) then return { 'not_loaded' } end
if ARGV[2] == '' then
  redis.call('HDEL', s, ARGV[1])
else
  redis.call('HSET', s, ARGV[1], ARGV[2])
end
return { 'configured' }
