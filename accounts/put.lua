-- KEYS[1] account key, KEYS[2] phone index hash
-- ARGV[1] account number, ARGV[2] account JSON, ARGV[3..] normalised phones
local old = redis.call('GET', KEYS[1])
if old then
  local ok, prev = pcall(cjson.decode, old)
  if ok and type(prev) == 'table' and type(prev.phones) == 'table' then
    local keep = {}
    for i = 3, #ARGV do keep[ARGV[i]] = true end
    for _, p in ipairs(prev.phones) do
      -- Only drop the entry if it still points at us: another account may
      -- have taken the number over since.
      if type(p) == 'string' and not keep[p]
          and redis.call('HGET', KEYS[2], p) == ARGV[1] then
        redis.call('HDEL', KEYS[2], p)
      end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[2])
for i = 3, #ARGV do
  redis.call('HSET', KEYS[2], ARGV[i], ARGV[1])
end
return #ARGV - 2
