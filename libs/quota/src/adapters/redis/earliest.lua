-- earliest.lua: the earliest hold expiry of a loaded scope (live or pruned), for the global due index.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- Returns '' (not loaded, or no holds) | the score
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return '' end
local earliest = earliest_expiry(x, e)
if earliest == nil then return '' end
return fmt(earliest)
