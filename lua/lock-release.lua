-- lock-release: drop one hold of a lease, only for its owner (compare-and-delete).
--
-- KEYS[1]  lease hash {o = owner token, n = hold count, e = expiry (unix ms)}
-- ARGV[1]  owner token
-- ARGV[2]  now, unix ms
--
-- Returns  0 when the lease is now free (key deleted),
--          n > 0 when the owner still holds n re-entrant holds,
--         -1 when the caller is not the owner or the lease already expired (nothing changed).
local cur = redis.call('HMGET', KEYS[1], 'o', 'e')
if not cur[1] or cur[1] ~= ARGV[1] or tonumber(cur[2]) <= tonumber(ARGV[2]) then
  return -1
end
local holds = redis.call('HINCRBY', KEYS[1], 'n', -1)
if holds <= 0 then
  redis.call('DEL', KEYS[1])
  return 0
end
return holds
