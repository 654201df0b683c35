-- reserve-batch.lua: one atomic decision over up to 100 holds.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] policy ('all_or_nothing' | 'max_fundable'), [2] nowMs, [3] day id, [4] week id,
--     [5] month id, [6] item count n, then n × (hold id, project id, user id, amount, expiresAtMs),
--     optional last: budget alert thresholds ('80,100', '' for none)
-- Returns {'not_loaded'}
--       | all_or_nothing failure: {'refused', index0, level, required, available} | {'duplicate', index0, record}
--       | {'decided', due hint, then per item 7 entries:
--            'held', day id, week id, month id, org left, project left, user left
--          | 'refused', level, required, available, '', '', ''
--          | 'duplicate', record, '', '', '', '', '',
--        then 6 entries per threshold the batch as a whole crossed (lib.lua crossings)}
-- Guarantees: items are decided in order, each against the state left by the items held
-- before it (so the sum of a batch is checked, not each item alone). all_or_nothing holds
-- every item or none; max_fundable holds each item that still fits. Holds past their expiry
-- are pruned first and never count. Nothing of the decision is written until every item is
-- decided and every total checked.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local policy = ARGV[1]
local all_or_nothing = policy == 'all_or_nothing'
if not all_or_nothing and policy ~= 'max_fundable' then fail('BAD_ARGUMENT', 'policy') end
local now = arg_int(ARGV[2], 'nowMs')
local count = arg_int(ARGV[6], 'count')
if count < 1 or count > 100 or (#ARGV ~= 6 + count * 5 and #ARGV ~= 7 + count * 5) then fail('BAD_ARGUMENT', 'count') end
local thresholds = parse_thresholds(ARGV[7 + count * 5])
for i = 1, count do
  local at = 6 + (i - 1) * 5
  if arg_int(ARGV[at + 4], 'amount') <= 0 then fail('BAD_ARGUMENT', 'amount') end
  arg_int(ARGV[at + 5], 'expiresAtMs')
end
prune(s, x, e, now, MAX_PRUNED)
local pids = scope_ids(s, ARGV[3], ARGV[4], ARGV[5], true)

local views, touched = {}, {}
local function view(key, build)
  local v = views[key]
  if not v then
    v = build()
    views[key] = v
    touched[#touched + 1] = v
  end
  return v
end

local out, held = {}, {}
for i = 1, count do
  local at = 6 + (i - 1) * 5
  local id, p, u = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local amount = arg_int(ARGV[at + 4], 'amount')
  local expires = arg_int(ARGV[at + 5], 'expiresAtMs')
  if amount <= 0 then fail('BAD_ARGUMENT', 'amount') end
  local existing = hold_of(s, id, true)
  if existing then
    if all_or_nothing then return { 'duplicate', fmt(i - 1), existing } end
    out[#out + 1] = 'duplicate'; out[#out + 1] = existing
    for _ = 1, 5 do out[#out + 1] = '' end
  else
    local levels = {
      view('o', function() return org_view(s, pids) end),
      view('p|' .. p, function() return project_view(s, p, pids) end),
      view('u|' .. p .. '|' .. u, function() return user_view(s, p, u, pids) end),
    }
    local short = nil
    for l, v in ipairs(levels) do
      if v.limit and v.committed + v.reserved + v.add + amount > v.limit then short = l; break end
    end
    if short then
      local v = levels[short]
      if all_or_nothing then return { 'refused', fmt(i - 1), LEVELS[short], fmt(amount), available(v) } end
      out[#out + 1] = 'refused'; out[#out + 1] = LEVELS[short]; out[#out + 1] = fmt(amount); out[#out + 1] = available(v)
      for _ = 1, 3 do out[#out + 1] = '' end
    else
      for _, v in ipairs(levels) do
        if v.reserved + v.add + amount > MAX_SAFE then fail('OVERFLOW', 'reserved of ' .. v.key) end
      end
      for _, v in ipairs(levels) do v.add = v.add + amount end
      local o, pr, us = levels[1], levels[2], levels[3]
      held[#held + 1] = { id = id, expires = expires,
        record = hold_record(p, u, fmt(amount), fmt(expires), pids.day, pids.week, pids.month) }
      out[#out + 1] = 'held'; out[#out + 1] = pids.day; out[#out + 1] = pids.week; out[#out + 1] = pids.month
      out[#out + 1] = available(o); out[#out + 1] = available(pr); out[#out + 1] = available(us)
    end
  end
end

-- Decided: write.
for _, v in ipairs(touched) do
  if v.add > 0 then set_reserved(s, v.key, v.reserved + v.add) end
end
local hint = ''
if #held > 0 then
  local earliest = held[1].expires
  for _, h in ipairs(held) do
    if h.expires < earliest then earliest = h.expires end
  end
  hint = due_hint(x, e, earliest, now)
end
for _, h in ipairs(held) do
  redis.call('HSET', s, 'h|' .. h.id, h.record)
  redis.call('ZADD', x, fmt(h.expires), h.id)
end
local reply = { 'decided', hint }
for _, e in ipairs(out) do reply[#reply + 1] = e end
for _, v in ipairs(touched) do
  local before = v.committed + v.reserved
  crossings(reply, v, before, before + v.add, thresholds)
end
return reply
