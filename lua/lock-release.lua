-- lock-release: drop one hold of a lease, only for its owner (compare-and-delete).
--
-- KEYS[1]  lease hash {o = owner token, n = hold count, e = expiry (unix ms),
--          r = id of the last request that changed it, v = that request's result}
-- ARGV[1]  owner token
-- ARGV[2]  now, unix ms
-- ARGV[3]  request id (unique per call; the client sends the same one when it retries)
--
-- Safe to run twice: a re-execution of the request that last released returns that first outcome
-- instead of dropping a second hold. A release that frees the lease leaves only {r, v} behind
-- (no owner: the lease is free) for the rest of the lease's time, so its retry still answers 0.
--
-- Returns  0 when the lease is now free,
--          n > 0 when the owner still holds n re-entrant holds,
--         -1 when the caller is not the owner or the lease already expired (nothing changed).
local cur = redis.call('HMGET', KEYS[1], 'o', 'e', 'r', 'v')
if cur[3] == ARGV[3] then
  return tonumber(cur[4])
end
if not cur[1] or cur[1] ~= ARGV[1] or tonumber(cur[2]) <= tonumber(ARGV[2]) then
  return -1
end
local holds = redis.call('HINCRBY', KEYS[1], 'n', -1)
if holds <= 0 then
  local left = tonumber(cur[2]) - tonumber(ARGV[2])
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'r', ARGV[3], 'v', 0)
  redis.call('PEXPIRE', KEYS[1], left)
  return 0
end
redis.call('HSET', KEYS[1], 'r', ARGV[3], 'v', holds)
return holds
