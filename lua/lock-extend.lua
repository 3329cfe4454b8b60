-- lock-extend: push a lease's expiry to now + ttl, only for its owner (the watchdog's step).
--
-- KEYS[1]  lease hash {o = owner token, n = hold count, e = expiry (unix ms)}
-- ARGV[1]  owner token
-- ARGV[2]  ttl in ms
-- ARGV[3]  now, unix ms
--
-- Safe to run twice as it is: a re-execution with the same arguments sets the same expiry.
--
-- Returns 1 when extended, 0 when the caller does not hold an unexpired lease.
local cur = redis.call('HMGET', KEYS[1], 'o', 'e')
if not cur[1] or cur[1] ~= ARGV[1] or tonumber(cur[2]) <= tonumber(ARGV[3]) then
  return 0
end
redis.call('HSET', KEYS[1], 'e', tonumber(ARGV[3]) + tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
