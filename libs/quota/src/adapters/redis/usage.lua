-- usage.lua: figures of some nodes at the caller's now. Writes only the prune: holds past
-- their expiry at nowMs leave reserved first, as for a decision.
-- KEYS[1] scope hash, KEYS[2] expiry zset, KEYS[3] pruned zset (layout: lib.lua)
-- ARGV[1] day id, [2] week id, [3] month id, [4] node count n, then n × (level, project id, user id),
--     then nowMs
-- Returns {'not_loaded'} | {'usage', then per node: source, limit ('-'), period, period id,
--     committed, reserved, available ('-')}
local s, x, e = KEYS[1], KEYS[2], KEYS[3]
if not is_loaded(s) then return { 'not_loaded' } end
local count = arg_int(ARGV[4], 'count')
if #ARGV ~= 5 + count * 3 then fail('BAD_ARGUMENT', 'count') end
prune(s, x, e, arg_int(ARGV[5 + count * 3], 'nowMs'), MAX_PRUNED)
local pids = scope_ids(s, ARGV[1], ARGV[2], ARGV[3], false)
local reply = { 'usage' }
for i = 1, count do
  local at = 4 + (i - 1) * 3
  local level, p, u = ARGV[at + 1], ARGV[at + 2], ARGV[at + 3]
  local v
  if level == 'org' then
    v = org_view(s, pids)
  elseif level == 'project' then
    v = project_view(s, p, pids)
  else
    v = user_view(s, p, u, pids)
  end
  local limit = '-'
  if v.limit then limit = fmt(v.limit) end
  for _, field in ipairs({ v.source, limit, v.period, v.effective, fmt(v.committed), fmt(v.reserved), available(v) }) do
    reply[#reply + 1] = field
  end
end
return reply
