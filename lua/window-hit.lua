-- window-hit: tiered sliding-window limiter; checks every tier, records the event only if all allow.
--
-- KEYS[1]  sorted set of past events for one subject (score = event time, unix ms)
-- ARGV[1]  now, unix ms
-- ARGV[2]  unique member for this event; '' = only check (peek), record nothing
-- ARGV[3], ARGV[4], ...  pairs: window in ms, max events in that window
--
-- Returns {0, 0} when allowed (the event is recorded unless peeking),
--         {tier, retry_after_ms} when refused: tier = 1-based index of the first refusing pair,
--         retry_after_ms = when that tier admits one more event.
-- A window holds the events in (now - window, now].
local now = tonumber(ARGV[1])
local longest = 0
for i = 3, #ARGV, 2 do
  longest = math.max(longest, tonumber(ARGV[i]))
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - longest)
for i = 3, #ARGV, 2 do
  local window = tonumber(ARGV[i])
  local max = tonumber(ARGV[i + 1])
  local since = '(' .. (now - window)
  local count = redis.call('ZCOUNT', KEYS[1], since, '+inf')
  if count >= max then
    -- The event that must leave the window before one more fits.
    local blocking = redis.call('ZRANGEBYSCORE', KEYS[1], since, '+inf', 'WITHSCORES', 'LIMIT', count - max, 1)
    return {(i - 1) / 2, tonumber(blocking[2]) + window - now}
  end
end
if ARGV[2] ~= '' then
  redis.call('ZADD', KEYS[1], now, ARGV[2])
  redis.call('PEXPIRE', KEYS[1], longest)
end
return {0, 0}
