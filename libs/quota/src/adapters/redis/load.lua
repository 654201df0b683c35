-- load.lua: install a scope's state rebuilt from the ledger.
-- KEYS[1] scope hash, KEYS[2] expiry zset (layout: lib.lua)
-- ARGV[1] n hash field/value pairs, then n × (field, value), then (score, hold id) pairs
-- Returns {'already_loaded'} | {'loaded', due hint}
-- Guarantees: atomic; a loaded scope is never overwritten (a racing second rebuild is
-- refused). Leftovers of a scope that lost its marker are cleared first. The marker is
-- written with the state, so no script ever sees a half-loaded scope.
local s, x = KEYS[1], KEYS[2]
if is_loaded(s) then return { 'already_loaded' } end
redis.call('DEL', s, x)
local pairs_n = arg_int(ARGV[1], 'pairs')
local last_field = 1 + pairs_n * 2
if #ARGV < last_field or (#ARGV - last_field) % 2 ~= 0 then fail('BAD_ARGUMENT', 'layout') end
local CHUNK = 400
local function flush(command, key, from, to)
  local i = from
  while i <= to do
    local args = {}
    local j = math.min(to, i + CHUNK - 1)
    for k = i, j do args[#args + 1] = ARGV[k] end
    redis.call(command, key, unpack(args))
    i = j + 1
  end
end
flush('HSET', s, 2, last_field)
flush('ZADD', x, last_field + 1, #ARGV)
redis.call('HSET', s, 'loaded', '1')
local first = redis.call('ZRANGE', x, 0, 0, 'WITHSCORES')
local hint = ''
if #first > 0 then hint = first[2] end
return { 'loaded', hint }
