-- load-part.lua: one part of a load in parts (see load-begin.lua), or its abandonment.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] load token, [2] nowMs, [3] leaseMs, [4] 'store' | 'abort', then field/value pairs
-- Returns {'already_loaded'} | {'lost'} | {'stored'} | {'aborted'}
-- Guarantees: only the lease holder writes; each part renews the lease. An abort clears what
-- the holder stored, so the next loader starts at once instead of waiting out the lease.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if is_loaded(s) then return { 'already_loaded' } end
local token = ARGV[1]
local now = arg_int(ARGV[2], 'nowMs')
local lease = arg_int(ARGV[3], 'leaseMs')
if not owns_load(s, token) then return { 'lost' } end
if ARGV[4] == 'abort' then
  redis.call('DEL', s, x, e)
  return { 'aborted' }
end
if ARGV[4] ~= 'store' or (#ARGV - 4) % 2 ~= 0 then fail('BAD_ARGUMENT', 'layout') end
flush_args('HSET', s, 5, #ARGV)
redis.call('HSET', s, 'loading', token .. '|' .. fmt(now + lease))
return { 'stored' }
