-- lib.lua: the prelude the adapter puts in front of every quota script (not a script itself).
--
-- Layout. One hash per scope, KEYS[1] = `<prefix>{<org>:<env>}:s`, holds every node and every
-- hold, so each script declares a fixed set of KEYS although user nodes are created on the fly
-- (and all of a scope lives in one hash slot, so this runs on Redis Cluster). Fields:
--   loaded                 the loaded marker. Absent (new scope, FLUSHALL, eviction): every
--                          script answers not_loaded and changes nothing
--   <node>|cfg             '<limit>|<period>', limit '-' = none. <node> is o, p|<project>
--                          or u|<project>|<user>; ids never contain '|'
--   p|<project>|dcfg       the project's default user config
--   <node>|r               reserved (absent = 0)
--   <node>|cp, <node>|pp   the newest period id the node counted in, and the one before
--   <node>|c|<period id>   committed in that period ('' for period none: all-time)
--   h|<hold id>            '<project>|<user>|<amount>|<expiresAtMs>|<org pid>|<project pid>|<user pid>'
--   loading                '<token>|<lease deadline ms>': a load in parts is under way (load-begin.lua)
--   q|<key>                a running quantity, a decimal string (commit.lua)
-- KEYS[2] = `<prefix>{<org>:<env>}:x`: hold ids scored by expiresAtMs.
--
-- Arithmetic. Lua numbers are doubles, exact for integers up to 2^53. Every total is checked
-- against MAX_SAFE before the script's first write (a Lua error does not undo earlier writes),
-- and numbers are written with '%.0f': tostring() would round them to 14 digits.
-- Period rules mirror libs/quota/src/domain/period-counters.ts.

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

local function kind_of(id)
  local n = #id
  if n == 0 then return 'none' end
  if n == 10 then return 'day' end
  if n == 8 and string.sub(id, 6, 6) == 'W' then return 'week' end
  if n == 7 then return 'month' end
  return 'unknown'
end

local function period_ids(day, week, month)
  return { none = '', day = day, week = week, month = month }
end

local function is_loaded(s)
  return redis.call('HEXISTS', s, 'loaded') == 1
end

local function present(v)
  if v == false then return nil end
  return v
end

-- A node as one decision sees it at the caller's `now`. `add` is what the decision adds to
-- reserved. One HMGET for the node's fields (and the fallback config: a user without a config
-- of its own uses its project's default, read in the same script as the decision, so racing
-- first requests of a new user all see the cap), then one HGET for the current counter.
local function node_view(s, key, fallback_field, pids)
  local f = redis.call('HMGET', s, key .. '|cfg', key .. '|cp', key .. '|pp', key .. '|r', fallback_field or (key .. '|cfg'))
  local cfg, source = present(f[1]), 'own'
  if not cfg and fallback_field then cfg = present(f[5]); source = 'default' end
  if not cfg then source = 'none' end
  local limit, period = nil, 'none'
  if cfg then
    local parts = split(cfg)
    if #parts ~= 2 or pids[parts[2]] == nil then fail('CORRUPT', 'config of ' .. key) end
    period = parts[2]
    if parts[1] ~= '-' then limit = stored_int(parts[1], 'limit of ' .. key) end
  end
  local latest, previous = present(f[2]), present(f[3])
  -- Never count in a period older than the newest one seen: a lagging clock joins the newer period.
  local effective = pids[period]
  if latest and kind_of(latest) == period and latest >= effective then effective = latest end
  return {
    key = key, source = source, limit = limit, period = period,
    latest = latest, previous = previous, effective = effective,
    committed = stored_int(hget(s, key .. '|c|' .. effective), 'committed of ' .. key),
    reserved = stored_int(present(f[4]), 'reserved of ' .. key),
    add = 0,
  }
end

local function org_view(s, pids)
  return node_view(s, 'o', nil, pids)
end

local function project_view(s, p, pids)
  return node_view(s, 'p|' .. p, nil, pids)
end

local function user_view(s, p, u, pids)
  return node_view(s, 'u|' .. p .. '|' .. u, 'p|' .. p .. '|dcfg', pids)
end

local function hold_views(s, p, u, pids)
  return { org_view(s, pids), project_view(s, p, pids), user_view(s, p, u, pids) }
end

-- What the node can still admit, never below 0; '-' without a limit.
local function available(v)
  if v.limit == nil then return '-' end
  local left = v.limit - v.committed - v.reserved - v.add
  if left < 0 then left = 0 end
  return fmt(left)
end

-- The node's marks once it has counted in v.effective.
local function rolled_marks(v)
  if v.effective == v.latest then return v.latest, v.previous end
  if v.latest and kind_of(v.latest) == v.period then return v.effective, v.latest end
  return v.effective, nil
end

-- Persists the roll: the counter before `previous` is dropped (its period is over); a change of
-- period kind drops the old kind's counters.
local function apply_roll(s, v)
  if v.effective == v.latest then return end
  if v.latest and kind_of(v.latest) == v.period then
    if v.previous then redis.call('HDEL', s, v.key .. '|c|' .. v.previous) end
    redis.call('HSET', s, v.key .. '|pp', v.latest)
  else
    if v.latest then redis.call('HDEL', s, v.key .. '|c|' .. v.latest) end
    if v.previous then redis.call('HDEL', s, v.key .. '|c|' .. v.previous) end
    redis.call('HDEL', s, v.key .. '|pp')
  end
  redis.call('HSET', s, v.key .. '|cp', v.effective)
end

-- Where a commit of a hold admitted in `admitted` is charged (nil: its period is over).
local function charge_period(v, admitted)
  local latest, previous = rolled_marks(v)
  if admitted == latest or admitted == previous then return admitted end
  if kind_of(admitted) == v.period and admitted < latest then return nil end
  return latest
end

local function set_reserved(s, key, value)
  if value == 0 then
    redis.call('HDEL', s, key .. '|r')
  else
    redis.call('HSET', s, key .. '|r', fmt(value))
  end
end

local function hold_record(p, u, amount, expires, po, pp, pu)
  return table.concat({ p, u, amount, expires, po, pp, pu }, '|')
end

local function parse_hold(record, id)
  local f = split(record)
  if #f ~= 7 then fail('CORRUPT', 'hold ' .. id) end
  return {
    project = f[1], user = f[2],
    amount = stored_int(f[3], 'amount of hold ' .. id),
    expires = stored_int(f[4], 'expiry of hold ' .. id),
    periods = { f[5], f[6], f[7] },
    fields = f,
  }
end

-- The score the global due index needs for this scope after adding a hold expiring at
-- `expires`: the new earliest expiry, or an overdue one (self-heals a lost index entry);
-- '' when the index already points early enough. Call before the ZADD of the hold.
local function due_hint(x, expires, now)
  local first = redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
  if #first == 0 then return fmt(expires) end
  local earliest = tonumber(first[2])
  if expires < earliest then return fmt(expires) end
  if earliest <= now then return fmt(earliest) end
  return ''
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
