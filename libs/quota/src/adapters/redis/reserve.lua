-- reserve.lua: admit one hold at org, project and user, or nothing.
-- KEYS[1] scope hash, KEYS[2] expiry zset (layout: lib.lua)
-- ARGV[1] hold id, [2] project id, [3] user id, [4] amount, [5] expiresAtMs, [6] nowMs,
--     [7] current day id, [8] week id, [9] month id (from the caller's clock)
-- Returns {'not_loaded'} | {'duplicate', record}
--       | {'refused', level, required, available}
--       | {'held', org pid, project pid, user pid, org left, project left, user left, due hint}
-- Guarantees: admitted only if every level with a limit keeps committed + reserved ≤ limit in
-- its current period; then reserved grows by the amount at all three levels. Refused (or
-- duplicate, or an overflow error): nothing written. The refusal names the first short level
-- from the top.
local s, x = KEYS[1], KEYS[2]
if not is_loaded(s) then return { 'not_loaded' } end
local id, p, u = ARGV[1], ARGV[2], ARGV[3]
local amount = arg_int(ARGV[4], 'amount')
local expires = arg_int(ARGV[5], 'expiresAtMs')
local now = arg_int(ARGV[6], 'nowMs')
if amount <= 0 then fail('BAD_ARGUMENT', 'amount') end

local existing = hget(s, 'h|' .. id)
if existing then return { 'duplicate', existing } end

local views = hold_views(s, p, u, period_ids(ARGV[7], ARGV[8], ARGV[9]))
for i, v in ipairs(views) do
  if v.limit and v.committed + v.reserved + amount > v.limit then
    return { 'refused', LEVELS[i], fmt(amount), available(v) }
  end
end
-- Unlimited levels have no cap to stop them, but reserved must stay exact.
for _, v in ipairs(views) do
  if v.reserved + amount > MAX_SAFE then fail('OVERFLOW', 'reserved of ' .. v.key) end
end

for _, v in ipairs(views) do
  apply_roll(s, v)
  set_reserved(s, v.key, v.reserved + amount)
  v.add = amount
end
local o, pr, us = views[1], views[2], views[3]
redis.call('HSET', s, 'h|' .. id, hold_record(p, u, fmt(amount), fmt(expires), o.effective, pr.effective, us.effective))
local hint = due_hint(x, expires, now)
redis.call('ZADD', x, fmt(expires), id)
return { 'held', o.effective, pr.effective, us.effective, available(o), available(pr), available(us), hint }
