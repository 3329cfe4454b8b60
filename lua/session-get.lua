-- session-get: reads a live session. A script (not HGETALL) so the read can share one pipelined
-- HTTP request with the rate-limit scripts on the flash-sale hot path.
--
-- KEYS[1]  session hash {u = user snapshot (JSON), c = created, r = renewed, x = expires, k = renewals}
-- ARGV[1]  now, unix ms
--
-- Returns the hash as a flat list {field, value, ...}, or {} when missing or expired.
local expires = redis.call('HGET', KEYS[1], 'x')
if not expires or tonumber(expires) <= tonumber(ARGV[1]) then
  return {}
end
return redis.call('HGETALL', KEYS[1])
