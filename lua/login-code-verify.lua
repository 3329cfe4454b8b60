-- login-code-verify: check and consume a one-time login code, counting wrong attempts.
--
-- KEYS[1]  code hash {c = code, e = expiry (unix ms)}
-- KEYS[2]  failure counter
-- KEYS[3]  lock: locked-until (unix ms)
--          (all three share the phone as hash tag)
-- ARGV[1]  submitted code
-- ARGV[2]  now, unix ms
-- ARGV[3]  failures that lock the phone
-- ARGV[4]  lock length in ms (also how long failures are remembered)
--
-- Returns {1, 0}  the code matched and is consumed (failures and lock cleared),
--         {-1, n} wrong/expired/used code; n attempts left before the lock,
--         {-2, ms} locked for ms more (the failure reaching the limit locks and drops the code).
local now = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local lock_ms = tonumber(ARGV[4])
local locked_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if locked_until > now then
  return {-2, locked_until - now}
end
local stored = redis.call('HMGET', KEYS[1], 'c', 'e')
if stored[1] and tonumber(stored[2]) > now and stored[1] == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return {1, 0}
end
local failures = redis.call('INCR', KEYS[2])
if failures == 1 then
  redis.call('PEXPIRE', KEYS[2], lock_ms)
end
if failures >= max then
  redis.call('SET', KEYS[3], now + lock_ms, 'PX', lock_ms)
  redis.call('DEL', KEYS[1], KEYS[2])
  return {-2, lock_ms}
end
return {-1, max - failures}
