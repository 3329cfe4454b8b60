-- lock-acquire: take a re-entrant lease, or re-enter it as its owner.
--
-- KEYS[1]  lease hash {o = owner token, n = hold count, e = expiry (unix ms),
--          r = id of the last request that changed it, v = that request's result}
-- ARGV[1]  owner token
-- ARGV[2]  ttl in ms
-- ARGV[3]  now, unix ms (the caller's clock; the script never reads server time)
-- ARGV[4]  request id (unique per call; the client sends the same one when it retries)
--
-- Safe to run twice: a re-execution of the request that last acquired (its reply was lost and
-- the client sent it again) returns that first outcome instead of adding a second hold.
--
-- Returns {1, holds} when acquired (holds = re-entrant count after this call),
--         {0, remaining_ms} when another owner holds an unexpired lease.
-- The key also gets a PEXPIRE of ttl so abandoned leases are garbage-collected.
local owner = ARGV[1]
local ttl = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
local cur = redis.call('HMGET', KEYS[1], 'o', 'n', 'e', 'r', 'v')
if cur[4] == ARGV[4] and cur[1] == owner then
  return {1, tonumber(cur[5])}
end
if cur[1] and tonumber(cur[3]) > now then
  if cur[1] ~= owner then
    return {0, tonumber(cur[3]) - now}
  end
  local holds = redis.call('HINCRBY', KEYS[1], 'n', 1)
  redis.call('HSET', KEYS[1], 'e', now + ttl, 'r', ARGV[4], 'v', holds)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {1, holds}
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'o', owner, 'n', 1, 'e', now + ttl, 'r', ARGV[4], 'v', 1)
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 1}
