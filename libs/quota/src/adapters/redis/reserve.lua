-- reserve.lua: admit one hold at org, project and user, or nothing.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] hold id, [2] project id, [3] user id, [4] amount, [5] expiresAtMs, [6] nowMs,
--     [7] current day id, [8] week id, [9] month id (from the caller's clock),
--     [10] budget alert thresholds ('80,100', '' for none),
--     optional [11] n alternative amounts, then n amounts (a downgrade ladder's prices)
-- Returns {'not_loaded'} | {'duplicate', record}
--       | {'refused', level, required, available[, fits up to]}
--       | {'held', day id, week id, month id, org left, project left, user left, due hint, choice,
--          then 6 entries per threshold crossed (lib.lua crossings)}
-- Guarantees: admitted only if every level with a limit keeps committed + reserved ≤ limit in
-- its current period; then reserved grows by the amount at all three levels. With alternatives,
-- the first of amount, alternatives… that fits is held (choice 0 = amount). Holds past their
-- expiry are pruned first and never count. Refused (or duplicate, or an overflow error):
-- nothing of the decision is written (the prune and the period mark may be). The refusal names
-- the first short level from the top for `amount`, and with alternatives the most every level
-- could admit now. The hold records the scope's current period of every kind. A threshold is
-- reported by the one call whose hold takes a node's usage from below it to at or above it.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local id, p, u = ARGV[1], ARGV[2], ARGV[3]
local amount = arg_int(ARGV[4], 'amount')
local expires = arg_int(ARGV[5], 'expiresAtMs')
local now = arg_int(ARGV[6], 'nowMs')
if amount <= 0 then fail('BAD_ARGUMENT', 'amount') end

local thresholds = parse_thresholds(ARGV[10])
local with_alternatives = ARGV[11] ~= nil
local candidates = { amount }
if with_alternatives then
  local n = arg_int(ARGV[11], 'alternatives')
  for i = 1, n do
    local a = arg_int(ARGV[11 + i], 'alternative')
    if a <= 0 then fail('BAD_ARGUMENT', 'alternative') end
    candidates[#candidates + 1] = a
  end
end

prune(s, x, e, now, MAX_PRUNED)
local ids = scope_ids(s, ARGV[7], ARGV[8], ARGV[9], true)
local existing = hold_of(s, id, true)
if existing then return { 'duplicate', existing } end
local views = hold_views(s, p, u, ids)
local function short_level(a)
  for i, v in ipairs(views) do
    if v.limit and v.committed + v.reserved + a > v.limit then return i end
  end
  return nil
end
local choice = nil
for c, a in ipairs(candidates) do
  if not short_level(a) then choice = c; break end
end
if not choice then
  local i = short_level(amount)
  local reply = { 'refused', LEVELS[i], fmt(amount), available(views[i]) }
  if with_alternatives then
    local fit = nil
    for _, v in ipairs(views) do
      if v.limit then
        local left = v.limit - v.committed - v.reserved
        if left < 0 then left = 0 end
        if fit == nil or left < fit then fit = left end
      end
    end
    reply[5] = fit and fmt(fit) or '-'
  end
  return reply
end
amount = candidates[choice]
-- Unlimited levels have no cap to stop them, but reserved must stay exact.
for _, v in ipairs(views) do
  if v.reserved + amount > MAX_SAFE then fail('OVERFLOW', 'reserved of ' .. v.key) end
end

for _, v in ipairs(views) do
  set_reserved(s, v.key, v.reserved + amount)
  v.add = amount
end
local o, pr, us = views[1], views[2], views[3]
redis.call('HSET', s, 'h|' .. id, hold_record(p, u, fmt(amount), fmt(expires), ids.day, ids.week, ids.month))
local hint = due_hint(x, e, expires, now)
redis.call('ZADD', x, fmt(expires), id)
local reply = { 'held', ids.day, ids.week, ids.month, available(o), available(pr), available(us), hint, tostring(choice - 1) }
for _, v in ipairs(views) do
  local before = v.committed + v.reserved
  crossings(reply, v, before, before + amount, thresholds)
end
return reply
