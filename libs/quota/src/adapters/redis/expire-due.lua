-- expire-due.lua: release the holds whose expiry has passed, oldest first, for the sweeper to record.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] nowMs, [2] max holds
-- Returns {'not_loaded'} | {'expired', more ('1'|'0'), then id, record per expired hold}
-- Guarantees: every hold returned is out of reserved at all three levels (released in this
-- step, or already by a decision's prune) and gone from the scope, and only holds with
-- expiresAtMs ≤ now; a hold already committed or released is never returned.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local now = arg_int(ARGV[1], 'nowMs')
local max = arg_int(ARGV[2], 'max')
prune(s, x, e, now, max)
local ids = redis.call('ZRANGE', e, 0, max - 1)
local reply = { 'expired', '0' }
for _, id in ipairs(ids) do
  local record = hget(s, 'e|' .. id)
  if record then
    reply[#reply + 1] = id
    reply[#reply + 1] = record
    redis.call('HDEL', s, 'e|' .. id)
  end
  redis.call('ZREM', e, id)
end
if redis.call('ZCARD', e) > 0 or redis.call('ZCOUNT', x, '-inf', fmt(now)) > 0 then reply[2] = '1' end
return reply
