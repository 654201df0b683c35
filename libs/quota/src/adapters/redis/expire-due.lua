-- expire-due.lua: release the holds whose expiry has passed, oldest first.
-- KEYS[1] scope hash, KEYS[2] expiry zset (layout: lib.lua)
-- ARGV[1] nowMs, [2] max holds
-- Returns {'not_loaded'} | {'expired', more ('1'|'0'), then id, record per released hold}
-- Guarantees: every hold returned was released at all three levels in this one step, and only
-- holds with expiresAtMs ≤ now; a hold already committed or released is never returned.
local s, x = KEYS[1], KEYS[2]
if not is_loaded(s) then return { 'not_loaded' } end
local now = ARGV[1]
arg_int(now, 'nowMs')
local max = arg_int(ARGV[2], 'max')
local ids = redis.call('ZRANGEBYSCORE', x, '-inf', now, 'LIMIT', 0, max)
local totals, keys, released = {}, {}, {}
for _, id in ipairs(ids) do
  local record = hget(s, 'h|' .. id)
  if record then
    local hold = parse_hold(record, id)
    for _, key in ipairs({ 'o', 'p|' .. hold.project, 'u|' .. hold.project .. '|' .. hold.user }) do
      if not totals[key] then
        totals[key] = 0
        keys[#keys + 1] = key
      end
      totals[key] = totals[key] + hold.amount
    end
    released[#released + 1] = id
    released[#released + 1] = record
  end
end
local reserved = {}
for _, key in ipairs(keys) do
  reserved[key] = stored_int(hget(s, key .. '|r'), 'reserved of ' .. key)
  if reserved[key] < totals[key] then fail('CORRUPT', key .. ' reserves less than its holds') end
end

for _, key in ipairs(keys) do set_reserved(s, key, reserved[key] - totals[key]) end
for i = 1, #released, 2 do redis.call('HDEL', s, 'h|' .. released[i]) end
-- Ids without a hold (none are expected) leave the index too.
for _, id in ipairs(ids) do redis.call('ZREM', x, id) end
local more = '0'
if redis.call('ZCOUNT', x, '-inf', now) > 0 then more = '1' end
local reply = { 'expired', more }
for _, e in ipairs(released) do reply[#reply + 1] = e end
return reply
