-- load-begin.lua: start a load in parts, for a scope too large for one call (millions of users).
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] load token, [2] nowMs, [3] leaseMs
-- Returns {'already_loaded'} | {'busy'} | {'begun'}
-- Guarantees: one loader at a time per scope. The scope is cleared and leased to the token;
-- it stays not loaded for every other script until load.lua finishes with the same token.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if is_loaded(s) then return { 'already_loaded' } end
local token = ARGV[1]
local now = arg_int(ARGV[2], 'nowMs')
local lease = arg_int(ARGV[3], 'leaseMs')
if token == '' then fail('BAD_ARGUMENT', 'token') end
if loading_elsewhere(s, token, now) then return { 'busy' } end
redis.call('DEL', s, x, e)
redis.call('HSET', s, 'loading', token .. '|' .. fmt(now + lease))
return { 'begun' }
