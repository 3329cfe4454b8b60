-- seckill-audit: checks (and optionally repairs) a sale's counters against its order records, in
-- one atomic step so concurrent reservations cannot skew the result.
--
-- KEYS[1]  sale hash {stock, initial, ...}
-- KEYS[2]  buyers hash: user id -> reservations held
-- KEYS[3]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'
--          (all three share the voucher id as hash tag)
-- ARGV[1]  '1' to repair: stock := initial - (pending + committed); each buyer := its p/c/k count;
--          the per-state counters := the counts
-- Walks the whole sale: for tests and tools, never the cron (see seckill-batch.lua).
--
-- Returns {stock, expected_stock, buyers_off, pending, committed, cancelled, failed}
-- (values before any repair; buyers_off = users whose count differs), or {} when not loaded.
local sale = redis.call('HMGET', KEYS[1], 'stock', 'initial')
if not (sale[1] and sale[2]) then
  return {}
end
local counts = {p = 0, c = 0, k = 0, x = 0}
local quota = {}
local orders = redis.call('HGETALL', KEYS[3])
for i = 2, #orders, 2 do
  local state, user = string.match(orders[i], '^(%a)|([^|]*)|')
  counts[state] = counts[state] + 1
  if state ~= 'x' then
    quota[user] = (quota[user] or 0) + 1
  end
end
local expected = tonumber(sale[2]) - counts.p - counts.c
local off = {}
local buyers = redis.call('HGETALL', KEYS[2])
for i = 1, #buyers, 2 do
  -- 's'..user fields are slot strings, not counts
  if string.sub(buyers[i], 1, 1) ~= 's' and tonumber(buyers[i + 1]) ~= (quota[buyers[i]] or 0) then
    off[buyers[i]] = true
  end
end
for user, n in pairs(quota) do
  if tonumber(redis.call('HGET', KEYS[2], user) or '0') ~= n then
    off[user] = true
  end
end
local off_count = 0
for user, _ in pairs(off) do
  off_count = off_count + 1
  if ARGV[1] == '1' then
    redis.call('HSET', KEYS[2], user, quota[user] or 0)
  end
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'stock', expected, 'np', counts.p, 'nc', counts.c, 'nk', counts.k, 'nx', counts.x)
end
return {tonumber(sale[1]), expected, off_count, counts.p, counts.c, counts.k, counts.x}
