-- session-renew: conditionally extend a session (renew-on-use with a threshold and a cap).
--
-- KEYS[1]  session hash {x = expiry, r = last renewal, k = renewals, ... user snapshot}
-- ARGV[1]  now, unix ms
-- ARGV[2]  ttl in ms
-- ARGV[3]  minimum ms since the last renewal
-- ARGV[4]  maximum renewals
--
-- Returns n > 0  renewed (n = renewals so far),
--          0     not due (renewed too recently, e.g. by a concurrent request),
--         -1     no live session,
--         -2     renewal cap reached (left to expire).
local now = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])
local s = redis.call('HMGET', KEYS[1], 'x', 'r', 'k')
if not s[1] or tonumber(s[1]) <= now then
  return -1
end
if now - tonumber(s[2]) < tonumber(ARGV[3]) then
  return 0
end
if tonumber(s[3]) >= tonumber(ARGV[4]) then
  return -2
end
redis.call('HSET', KEYS[1], 'r', now, 'x', now + ttl)
local renewals = redis.call('HINCRBY', KEYS[1], 'k', 1)
redis.call('PEXPIRE', KEYS[1], ttl)
return renewals
