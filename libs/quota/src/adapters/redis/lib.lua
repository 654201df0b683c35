-- lib.lua: the prelude the adapter puts in front of every quota script (not a script itself).
--
-- Layout. One hash per scope, KEYS[1] = `<prefix>{<org>:<env>}:v2:s`, holds every node and
-- every hold, so each script declares a fixed set of KEYS although user nodes are created on
-- the fly (and all of a scope lives in one hash slot, so this runs on Redis Cluster). Fields:
--   loaded                 the loaded marker. Absent (new scope, FLUSHALL, eviction): every
--                          script answers not_loaded and changes nothing
--   m                      '<day>|<week>|<month>': the newest period ids the scope has counted
--                          in (a lagging clock joins them instead of reopening older periods)
--   <node>|cfg             '<limit>|<period>', limit '-' = none. <node> is o, p|<project>
--                          or u|<project>|<user>; ids never contain '|'
--   p|<project>|dcfg       the project's default user config
--   <node>|r               reserved (absent = 0)
--   <node>|c               '<day id>|<amount>|<week id>|<amount>|<month id>|<amount>|<all-time amount>':
--                          every node counts every period kind whatever its config, so a
--                          config change never forgets spend (period-counters.ts has the
--                          rules); one field, so a commit writes one per node
--   h|<hold id>            '<project>|<user>|<amount>|<expiresAtMs>|<day>|<week>|<month>'
--   e|<hold id>            the same record for a hold past its expiry that a decision already
--                          took out of reserved (prune), until the sweeper records it
--   loading                '<token>|<lease deadline ms>': a load in parts is under way (load-begin.lua)
--   q|<key>                a running quantity, a decimal string (commit.lua)
-- KEYS[2] = `…:v2:x`: live hold ids scored by expiresAtMs. KEYS[3] = `…:v2:e`: pruned hold
-- ids scored by expiresAtMs, for the sweeper.
--
-- Arithmetic. Lua numbers are doubles, exact for integers up to 2^53. Every total is checked
-- against MAX_SAFE before the script's first write (a Lua error does not undo earlier writes),
-- and numbers are written with '%.0f': tostring() would round them to 14 digits.

local MAX_SAFE = 9007199254740991
local LEVELS = { 'org', 'project', 'user' }

local function fail(code, detail)
  error({ err = 'QUOTA_' .. code .. ' ' .. detail })
end

local function fmt(n)
  return string.format('%.0f', n)
end

local function to_int(s, code, what)
  if type(s) ~= 'string' or #s == 0 or #s > 16 or not string.match(s, '^%d+$') then fail(code, what) end
  local n = tonumber(s)
  if n > MAX_SAFE then fail(code, what) end
  return n
end

-- An argument (the adapter validated it; this is the last line of defence).
local function arg_int(s, what)
  return to_int(s, 'BAD_ARGUMENT', what)
end

-- A stored figure; absent means 0.
local function stored_int(s, what)
  if s == nil then return 0 end
  return to_int(s, 'CORRUPT', what)
end

local function hget(s, field)
  local v = redis.call('HGET', s, field)
  if v == false then return nil end
  return v
end

local function split(s)
  local parts, from = {}, 1
  while true do
    local at = string.find(s, '|', from, true)
    if not at then
      parts[#parts + 1] = string.sub(s, from)
      return parts
    end
    parts[#parts + 1] = string.sub(s, from, at - 1)
    from = at + 1
  end
end

local KINDS = { 'none', 'day', 'week', 'month' }
-- Due holds one call prunes at most (MAX_PRUNED_PER_CALL in quota.ts).
local MAX_PRUNED = 1000

local function is_loaded(s)
  return redis.call('HEXISTS', s, 'loaded') == 1
end

local function present(v)
  if v == false then return nil end
  return v
end

-- The scope's current period ids from the caller's clock: per kind the newer of the clock's
-- and the scope's mark. With `write`, the mark moves forward (it never moves back).
local function scope_ids(s, day, week, month, write)
  local ids = { none = '', day = day, week = week, month = month }
  local mark = hget(s, 'm')
  if mark then
    local f = split(mark)
    if #f ~= 3 then fail('CORRUPT', 'period mark') end
    if f[1] > ids.day then ids.day = f[1] end
    if f[2] > ids.week then ids.week = f[2] end
    if f[3] > ids.month then ids.month = f[3] end
  end
  local now_mark = ids.day .. '|' .. ids.week .. '|' .. ids.month
  if write and now_mark ~= mark then redis.call('HSET', s, 'm', now_mark) end
  return ids
end

-- A node's stored counters (field <node>|c) as { kind = { id, amount } }; absent = none yet.
-- One pattern match (a C call) rather than a split: this runs for three nodes per decision.
local COUNTERS = '^([^|]*)|(%d+)|([^|]*)|(%d+)|([^|]*)|(%d+)|(%d+)$'
local function counter_amount(s, what)
  local n = tonumber(s)
  if #s > 16 or n > MAX_SAFE then fail('CORRUPT', what) end
  return n
end
local function parse_counters(raw, what)
  if raw == nil then return { none = { id = '', amount = 0 } } end
  local d, da, w, wa, m, ma, total = string.match(raw, COUNTERS)
  if not d then fail('CORRUPT', what) end
  return {
    none = { id = '', amount = counter_amount(total, what) },
    day = { id = d, amount = counter_amount(da, what) },
    week = { id = w, amount = counter_amount(wa, what) },
    month = { id = m, amount = counter_amount(ma, what) },
  }
end

local function format_counters(c)
  local function part(k)
    if c[k] == nil then return '|0' end
    return c[k].id .. '|' .. fmt(c[k].amount)
  end
  return table.concat({ part('day'), part('week'), part('month'), fmt(c.none.amount) }, '|')
end

-- A node as one decision sees it at the caller's `now`. `add` is what the decision adds to
-- reserved. One HMGET for the node's fields, its counters and the fallback config (a user
-- without a config of its own uses its project's default, read in the same script as the
-- decision, so racing first requests of a new user all see the cap).
local function node_view(s, key, fallback_field, ids)
  local f = redis.call('HMGET', s, key .. '|cfg', key .. '|r', fallback_field or (key .. '|cfg'), key .. '|c')
  local cfg, source = present(f[1]), 'own'
  if not cfg and fallback_field then cfg = present(f[3]); source = 'default' end
  if not cfg then source = 'none' end
  local limit, period = nil, 'none'
  if cfg then
    local parts = split(cfg)
    if #parts ~= 2 or ids[parts[2]] == nil then fail('CORRUPT', 'config of ' .. key) end
    period = parts[2]
    if parts[1] ~= '-' then limit = stored_int(parts[1], 'limit of ' .. key) end
  end
  local counters = parse_counters(present(f[4]), 'committed of ' .. key)
  local amount = 0
  local counter = counters[period]
  if counter and counter.id == ids[period] then amount = counter.amount end
  return {
    key = key, source = source, limit = limit, period = period, effective = ids[period],
    committed = amount,
    reserved = stored_int(present(f[2]), 'reserved of ' .. key),
    counters = counters,
    add = 0,
  }
end

local function org_view(s, ids)
  return node_view(s, 'o', nil, ids)
end

local function project_view(s, p, ids)
  return node_view(s, 'p|' .. p, nil, ids)
end

local function user_view(s, p, u, ids)
  return node_view(s, 'u|' .. p .. '|' .. u, 'p|' .. p .. '|dcfg', ids)
end

local function hold_views(s, p, u, ids)
  return { org_view(s, ids), project_view(s, p, ids), user_view(s, p, u, ids) }
end

-- What the node can still admit, never below 0; '-' without a limit.
local function available(v)
  if v.limit == nil then return '-' end
  local left = v.limit - v.committed - v.reserved - v.add
  if left < 0 then left = 0 end
  return fmt(left)
end

-- The counters after a commit of `amount` for a hold admitted in `periods` (day, week, month
-- ids), per kind: added in the counter's period, started anew in a newer one, and unchanged
-- for an older one (over for every admission; the ledger keeps it). Checked, not written:
-- returns the field and its new value, or nil when nothing changes.
local function charged_counters(v, periods, amount)
  if amount <= 0 then return nil end
  local c = v.counters
  for _, kind in ipairs(KINDS) do
    local admitted = ''
    if kind ~= 'none' then admitted = periods[kind] end
    local counter = c[kind]
    if counter == nil or admitted > counter.id then
      c[kind] = { id = admitted, amount = amount }
    elseif admitted == counter.id then
      if counter.amount + amount > MAX_SAFE then fail('OVERFLOW', 'committed of ' .. v.key) end
      counter.amount = counter.amount + amount
    end
  end
  return { v.key .. '|c', format_counters(c) }
end

local function set_reserved(s, key, value)
  if value == 0 then
    redis.call('HDEL', s, key .. '|r')
  else
    redis.call('HSET', s, key .. '|r', fmt(value))
  end
end

local function hold_record(p, u, amount, expires, day, week, month)
  return table.concat({ p, u, amount, expires, day, week, month }, '|')
end

local function parse_hold(record, id)
  local f = split(record)
  if #f ~= 7 then fail('CORRUPT', 'hold ' .. id) end
  return {
    project = f[1], user = f[2],
    amount = stored_int(f[3], 'amount of hold ' .. id),
    expires = stored_int(f[4], 'expiry of hold ' .. id),
    periods = { day = f[5], week = f[6], month = f[7] },
    fields = f,
  }
end

-- The earliest score of the live (x) and pruned (e) hold indexes; nil when both are empty.
local function earliest_expiry(x, e)
  local earliest = nil
  for _, key in ipairs({ x, e }) do
    local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if #first > 0 and (earliest == nil or tonumber(first[2]) < earliest) then earliest = tonumber(first[2]) end
  end
  return earliest
end

-- The score the global due index needs for this scope after adding a hold expiring at
-- `expires`: the new earliest expiry, or an overdue one (self-heals a lost index entry);
-- '' when the index already points early enough. Call before the ZADD of the hold.
local function due_hint(x, e, expires, now)
  local earliest = earliest_expiry(x, e)
  if earliest == nil or expires < earliest then return fmt(expires) end
  if earliest <= now then return fmt(earliest) end
  return ''
end

-- The live hold record of `id`, or nil; with `pruned`, also a pruned one (a hold id stays
-- taken until the sweeper has recorded its expiry).
local function hold_of(s, id, pruned)
  if not pruned then return hget(s, 'h|' .. id) end
  local f = redis.call('HMGET', s, 'h|' .. id, 'e|' .. id)
  return present(f[1]) or present(f[2])
end

-- Takes holds past their expiry at `now` out of reserved, oldest first, at most `max`: their
-- records move from h| to e| and their ids from x to e, for the sweeper to record. After it,
-- no decision counts a hold that has expired (commit, extend and release see it as gone).
local function prune(s, x, e, now, max)
  local ids = redis.call('ZRANGEBYSCORE', x, '-inf', fmt(now), 'LIMIT', 0, max)
  if #ids == 0 then return end
  local totals, keys, moved = {}, {}, {}
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
      moved[#moved + 1] = { id = id, record = record, expires = hold.expires }
    end
  end
  local reserved = {}
  for _, key in ipairs(keys) do
    reserved[key] = stored_int(hget(s, key .. '|r'), 'reserved of ' .. key)
    if reserved[key] < totals[key] then fail('CORRUPT', key .. ' reserves less than its holds') end
  end
  for _, key in ipairs(keys) do set_reserved(s, key, reserved[key] - totals[key]) end
  for _, m in ipairs(moved) do
    redis.call('HDEL', s, 'h|' .. m.id)
    redis.call('HSET', s, 'e|' .. m.id, m.record)
    redis.call('ZADD', e, fmt(m.expires), m.id)
  end
  -- Ids without a hold (none are expected) leave the index too.
  for _, id in ipairs(ids) do redis.call('ZREM', x, id) end
end

-- Another loader's live lease on the scope ('loading' = '<token>|<deadline ms>'). A lease
-- past its deadline belongs to a loader that died: anyone may start over.
local function loading_elsewhere(s, token, now)
  local v = hget(s, 'loading')
  if not v then return false end
  local parts = split(v)
  if parts[1] == token then return false end
  return (tonumber(parts[2]) or 0) > now
end

local function owns_load(s, token)
  local v = hget(s, 'loading')
  return v ~= nil and split(v)[1] == token
end

-- HSET / ZADD of ARGV[from..to] in slices: unpack() of a huge table overflows Lua's C stack.
local function flush_args(command, key, from, to)
  local CHUNK = 400
  local i = from
  while i <= to do
    local args = {}
    local j = math.min(to, i + CHUNK - 1)
    for k = i, j do args[#args + 1] = ARGV[k] end
    redis.call(command, key, unpack(args))
    i = j + 1
  end
end

-- Budget alert thresholds, an argument '80,100' (ascending percents 1..100; '' or nil: none).
local function parse_thresholds(s)
  local t = {}
  if s == nil or s == '' then return t end
  for p in string.gmatch(s, '[^,]+') do
    local n = arg_int(p, 'threshold')
    if n < 1 or n > 100 or (#t > 0 and n <= t[#t]) or #t >= 10 then fail('BAD_ARGUMENT', 'thresholds') end
    t[#t + 1] = n
  end
  return t
end

-- ceil(limit × pct / 100), exact (alert-thresholds.ts): limit = 100q + r; fmod is exact.
local function threshold_amount(limit, pct)
  local r = math.fmod(limit, 100)
  return ((limit - r) / 100) * pct + math.ceil(r * pct / 100)
end

-- Appends to `out` one entry of 6 (node key, threshold, limit, used, period kind, period id) per
-- threshold the node's usage (committed of its current period + reserved) crosses upwards,
-- from `before` to `after`. Nothing for a node without a limit, or usage that did not rise.
local function crossings(out, v, before, after, thresholds)
  if v.limit == nil or after <= before then return end
  for _, pct in ipairs(thresholds) do
    local at = threshold_amount(v.limit, pct)
    if before < at and after >= at then
      out[#out + 1] = v.key; out[#out + 1] = tostring(pct); out[#out + 1] = fmt(v.limit)
      out[#out + 1] = fmt(after); out[#out + 1] = v.period; out[#out + 1] = v.effective
    end
  end
end
