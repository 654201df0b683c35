-- commit.lua: charge a hold's actual usage, within the overage rule, and remove the hold.
-- KEYS[1] scope hash, KEYS[2] expiry zset (layout: lib.lua)
-- ARGV[1] hold id, [2] usage (may exceed the hold), [3] nowMs,
--     [4] current day id, [5] week id, [6] month id,
--     [7] overage rule 'allow' | 'cap' | 'pct', [8] percent (for 'pct'),
--     [9] budget alert thresholds ('80,100', '' for none),
--     optional [10] n running quantities, then n × (key, expected or '-' for none, next)
-- Returns {'not_loaded'} | {'not_held'} | {'stale', key, current or '-', ...}
--       | {'committed', charged, held, hold record, then 6 entries per threshold crossed}
-- (a commit raises a node's usage only by an overage: charged above the hold, in the current period)
-- The charge is the usage up to the hold; above it: all of it ('allow'), the hold ('cap'), or
-- at most hold + floor(hold × percent / 100) ('pct') — the same rule as overage.ts.
-- Guarantees: at each level every kind's counter grows by the amount in the period of that kind
-- the hold was admitted in, unless that period is over (so committed + reserved ≤ limit holds
-- per period: the hold was checked there, and a later change of the node's period kind finds
-- the spend), and reserved shrinks by the whole hold, in one step. A hold that is unknown, finished or expired
-- at now is not_held and nothing changes (an expired hold is the sweeper's to release).
-- Running quantities (fields q|<key>) move from expected to next with the commit, or, if any
-- is not as expected, nothing changes and the current values are returned (compare and set).
local s, x = KEYS[1], KEYS[2]
if not is_loaded(s) then return { 'not_loaded' } end
local id = ARGV[1]
local usage = arg_int(ARGV[2], 'usage')
local now = arg_int(ARGV[3], 'nowMs')
local rule = ARGV[7]
local record = hget(s, 'h|' .. id)
if not record then return { 'not_held' } end
local hold = parse_hold(record, id)
if hold.expires <= now then return { 'not_held' } end

local thresholds = parse_thresholds(ARGV[9])
local quantities = {}
if ARGV[10] then
  local n = arg_int(ARGV[10], 'quantities')
  local stale = false
  for i = 0, n - 1 do
    local key, expected, value = ARGV[11 + i * 3], ARGV[12 + i * 3], ARGV[13 + i * 3]
    if not key or not value or value == '' then fail('BAD_ARGUMENT', 'quantities') end
    local current = hget(s, 'q|' .. key) or '-'
    if current ~= expected then stale = true end
    quantities[#quantities + 1] = { key = key, current = current, value = value }
  end
  if stale then
    local reply = { 'stale' }
    for _, q in ipairs(quantities) do
      reply[#reply + 1] = q.key
      reply[#reply + 1] = q.current
    end
    return reply
  end
end

local amount = usage
if usage > hold.amount then
  if rule == 'cap' then
    amount = hold.amount
  elseif rule == 'pct' then
    local pct = arg_int(ARGV[8], 'percent')
    -- floor(held × pct / 100) without leaving exact double range: split held by 100.
    local whole = math.floor(hold.amount / 100)
    if pct == 0 or whole <= (MAX_SAFE - hold.amount) / pct then
      local allowance = whole * pct + math.floor((hold.amount % 100) * pct / 100)
      amount = math.min(usage, hold.amount + allowance)
    end
  elseif rule ~= 'allow' then
    fail('BAD_ARGUMENT', 'overage rule')
  end
end

local views = hold_views(s, hold.project, hold.user, scope_ids(s, ARGV[4], ARGV[5], ARGV[6], true))
local charges = {}
for i, v in ipairs(views) do
  if v.reserved < hold.amount then fail('CORRUPT', v.key .. ' reserves less than hold ' .. id) end
  charges[i] = charged_counters(v, hold.periods, amount)
end

for i, v in ipairs(views) do
  set_reserved(s, v.key, v.reserved - hold.amount)
  if charges[i] then redis.call('HSET', s, charges[i][1], charges[i][2]) end
end
for _, q in ipairs(quantities) do redis.call('HSET', s, 'q|' .. q.key, q.value) end
redis.call('HDEL', s, 'h|' .. id)
redis.call('ZREM', x, id)
local reply = { 'committed', fmt(amount), fmt(hold.amount), record }
if #thresholds > 0 and amount > hold.amount then
  for _, v in ipairs(views) do
    local counter, committed = v.counters[v.period], 0
    if counter and counter.id == v.effective then committed = counter.amount end
    crossings(reply, v, v.committed + v.reserved, committed + v.reserved - hold.amount, thresholds)
  end
end
return reply
