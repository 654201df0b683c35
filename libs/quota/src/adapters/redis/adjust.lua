-- adjust.lua: correct a commit after the fact (a provider usage adjustment).
-- KEYS[1] scope hash (layout: lib.lua)
-- ARGV[1] project id, [2] user id, [3] day id, [4] week id, [5] month id the hold was admitted
--     in, [6] sign '+' | '-', [7] magnitude of the delta (micro-credits, > 0)
-- Returns {'not_loaded'} | {'adjusted'}
-- Guarantees: the committed counters of org, project and user move by the delta in one step,
-- per kind as commit charges (lib.lua charged_counters) for a positive delta; a negative delta
-- takes back only from a counter that still counts the admitted period, never below 0 (a
-- counter of another period holds nothing of this hold's). Every node is checked before the
-- first write. Reserved, holds and limits are untouched: like an overage, the usage happened.
local s = KEYS[1]
if not is_loaded(s) then return { 'not_loaded' } end
local project, user = ARGV[1], ARGV[2]
local periods = { day = ARGV[3], week = ARGV[4], month = ARGV[5] }
local sign = ARGV[6]
if sign ~= '+' and sign ~= '-' then fail('BAD_ARGUMENT', 'sign') end
local magnitude = arg_int(ARGV[7], 'delta')
if magnitude == 0 then fail('BAD_ARGUMENT', 'delta') end

local writes = {}
for _, key in ipairs({ 'o', 'p|' .. project, 'u|' .. project .. '|' .. user }) do
  local field = key .. '|c'
  local v = { key = key, counters = parse_counters(hget(s, field), 'committed of ' .. key) }
  if sign == '+' then
    local charged = charged_counters(v, periods, magnitude)
    if charged then writes[#writes + 1] = charged end
  else
    local c, changed = v.counters, false
    for _, kind in ipairs(KINDS) do
      local admitted = ''
      if kind ~= 'none' then admitted = periods[kind] end
      local counter = c[kind]
      if counter ~= nil and counter.id == admitted then
        counter.amount = math.max(0, counter.amount - magnitude)
        changed = true
      end
    end
    if changed then writes[#writes + 1] = { field, format_counters(c) } end
  end
end
for _, w in ipairs(writes) do redis.call('HSET', s, w[1], w[2]) end
return { 'adjusted' }
