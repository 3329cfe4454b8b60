-- login-code-verify: check and consume a one-time login code, counting wrong attempts against an
-- issued code only. Safe to run twice for the same attempt (a lost reply + the client's retry
-- resends the same ARGV): the retry returns the first outcome and counts nothing twice.
--
-- KEYS[1]  code hash {c = code, e = expiry (unix ms); after a consume: u = attempt id}
-- KEYS[2]  failures hash {n = wrong codes, a = id of the last counted attempt, r = its attempts-left}
-- KEYS[3]  lock: locked-until (unix ms)
--          (all three share the phone as hash tag)
-- ARGV[1]  submitted code
-- ARGV[2]  now, unix ms
-- ARGV[3]  failures that lock the phone
-- ARGV[4]  lock length in ms (also how long failures are remembered)
-- ARGV[5]  attempt id: unique per verify call (a retry of the call carries the same id)
-- ARGV[6]  how long a consume is remembered for its retry, ms
--
-- Returns {1, 0}  the code matched and is consumed (failures and lock cleared), or this attempt
--                 consumed it before (a retry),
--         {-1, n} wrong/expired/used/never-sent code; n attempts left before the lock (only a
--                 wrong code while one is issued counts),
--         {-2, ms} locked for ms more (the failure reaching the limit locks and drops the code).
local now = tonumber(ARGV[2])
local max = tonumber(ARGV[3])
local lock_ms = tonumber(ARGV[4])
local attempt = ARGV[5]
local stored = redis.call('HMGET', KEYS[1], 'c', 'e', 'u')
if stored[3] == attempt then
  return {1, 0}
end
local locked_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if locked_until > now then
  return {-2, locked_until - now}
end
local failed = redis.call('HMGET', KEYS[2], 'n', 'a', 'r')
if failed[2] == attempt then
  return {-1, tonumber(failed[3])}
end
local failures = tonumber(failed[1] or '0')
if not stored[1] or tonumber(stored[2]) <= now then
  return {-1, max - failures}
end
if stored[1] == ARGV[1] then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  redis.call('HSET', KEYS[1], 'u', attempt)
  redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[6]))
  return {1, 0}
end
failures = failures + 1
if failures >= max then
  redis.call('SET', KEYS[3], now + lock_ms, 'PX', lock_ms)
  redis.call('DEL', KEYS[1], KEYS[2])
  return {-2, lock_ms}
end
redis.call('HSET', KEYS[2], 'n', failures, 'a', attempt, 'r', max - failures)
if failures == 1 then
  redis.call('PEXPIRE', KEYS[2], lock_ms)
end
return {-1, max - failures}
