-- earliest.lua: the earliest hold expiry of a loaded scope, for the global due index.
-- KEYS[1] scope hash, KEYS[2] expiry zset (layout: lib.lua)
-- Returns '' (not loaded, or no holds) | the score
local s, x = KEYS[1], KEYS[2]
if not is_loaded(s) then return '' end
local first = redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
if #first == 0 then return '' end
return first[2]
