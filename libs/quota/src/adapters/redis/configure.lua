-- configure.lua: set or clear one config field (a node's, or a project's default user config).
-- KEYS[1] scope hash (layout: lib.lua)
-- ARGV[1] config field, [2] '<limit>|<period>' or '' to clear,
--     [3] committed field to carry into or '', [4] committed amount to carry
-- Returns {'not_loaded'} | {'configured'}
-- Guarantees: only a loaded scope changes. A carried amount raises the period's committed to
-- at least that figure and never lowers it, so commits racing the change are kept.
local s = KEYS[1]
if not is_loaded(s) then return { 'not_loaded' } end
if ARGV[2] == '' then
  redis.call('HDEL', s, ARGV[1])
else
  redis.call('HSET', s, ARGV[1], ARGV[2])
end
if ARGV[3] ~= '' then
  local carry = arg_int(ARGV[4], 'carry')
  if carry > stored_int(hget(s, ARGV[3]), ARGV[3]) then redis.call('HSET', s, ARGV[3], fmt(carry)) end
end
return { 'configured' }
