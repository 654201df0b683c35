-- extend.lua: move a live hold's expiry.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] hold id, [2] new expiresAtMs, [3] nowMs
-- Returns {'not_loaded'} | {'not_held'} | {'extended', record, due hint}
-- Guarantees: a hold that is unknown, finished or already expired at now is not extended (it
-- belongs to the sweeper); amounts never change.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local id = ARGV[1]
local expires = arg_int(ARGV[2], 'expiresAtMs')
local now = arg_int(ARGV[3], 'nowMs')
local record = hget(s, 'h|' .. id)
if not record then return { 'not_held' } end
local hold = parse_hold(record, id)
if hold.expires <= now then return { 'not_held' } end
local f = hold.fields
local updated = hold_record(f[1], f[2], f[3], fmt(expires), f[5], f[6], f[7])
local hint = due_hint(x, e, expires, now)
redis.call('HSET', s, 'h|' .. id, updated)
redis.call('ZADD', x, fmt(expires), id)
return { 'extended', updated, hint }
