-- usage.lua: figures of some nodes at the caller's now (read only).
-- KEYS[1] scope hash (layout: lib.lua)
-- ARGV[1] day id, [2] week id, [3] month id, [4] node count n, then n × (level, project id, user id)
-- Returns {'not_loaded'} | {'usage', then per node: source, limit ('-'), period, period id,
--     committed, reserved, available ('-')}
local s = KEYS[1]
if not is_loaded(s) then return { 'not_loaded' } end
local pids = period_ids(ARGV[1], ARGV[2], ARGV[3])
local count = arg_int(ARGV[4], 'count')
if #ARGV ~= 4 + count * 3 then fail('BAD_ARGUMENT', 'count') end
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
  for _, e in ipairs({ v.source, limit, v.period, v.effective, fmt(v.committed), fmt(v.reserved), available(v) }) do
    reply[#reply + 1] = e
  end
end
return reply
