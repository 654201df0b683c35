-- release.lua: return a whole hold to every level.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] hold id
-- Returns {'not_loaded'} | {'not_held'} | {'released', record}
-- Guarantees: reserved shrinks by the hold at org, project and user and the hold is gone, in
-- one step; an unknown or finished hold changes nothing.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local id = ARGV[1]
local record = hget(s, 'h|' .. id)
if not record then return { 'not_held' } end
local hold = parse_hold(record, id)
local keys = { 'o', 'p|' .. hold.project, 'u|' .. hold.project .. '|' .. hold.user }
local reserved = {}
for i, key in ipairs(keys) do
  reserved[i] = stored_int(hget(s, key .. '|r'), 'reserved of ' .. key)
  if reserved[i] < hold.amount then fail('CORRUPT', key .. ' reserves less than hold ' .. id) end
end
for i, key in ipairs(keys) do set_reserved(s, key, reserved[i] - hold.amount) end
redis.call('HDEL', s, 'h|' .. id)
redis.call('ZREM', x, id)
return { 'released', record }
