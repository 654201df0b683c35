-- load.lua: install a scope's state rebuilt from the ledger, whole or as the last part of a load in parts.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] load token ('' for a load in one call), [2] nowMs,
--     [3] n hash field/value pairs, then n × (field, value), then (score, hold id) pairs
-- Returns {'already_loaded'} | {'busy'} | {'lost'} | {'loaded', due hint}
-- Guarantees: atomic; a loaded scope is never overwritten (a racing second rebuild is
-- refused). In one call: leftovers of a scope that lost its marker are cleared first, unless
-- another loader holds a live lease (busy). As the last part: only the lease holder finishes
-- (lost otherwise), on top of the parts it stored. The marker is written with the state, so no
-- script ever sees a half-loaded scope.
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if is_loaded(s) then return { 'already_loaded' } end
local token = ARGV[1]
local now = arg_int(ARGV[2], 'nowMs')
if token == '' then
  if loading_elsewhere(s, '', now) then return { 'busy' } end
  redis.call('DEL', s, x, e)
elseif not owns_load(s, token) then
  return { 'lost' }
end
local pairs_n = arg_int(ARGV[3], 'pairs')
local last_field = 3 + pairs_n * 2
if #ARGV < last_field or (#ARGV - last_field) % 2 ~= 0 then fail('BAD_ARGUMENT', 'layout') end
flush_args('HSET', s, 4, last_field)
flush_args('ZADD', x, last_field + 1, #ARGV)
redis.call('HDEL', s, 'loading')
redis.call('HSET', s, 'loaded', '1')
local earliest = earliest_expiry(x, e)
local hint = ''
if earliest ~= nil then hint = fmt(earliest) end
return { 'loaded', hint }
