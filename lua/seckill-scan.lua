-- seckill-scan: a consistent read of a sale for the outbox relay and reconciliation.
--
-- KEYS[1]  sale hash {stock, initial, begin, end, limit}
-- KEYS[2]  buyers hash: user id -> reservations held
-- KEYS[3]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'
-- KEYS[4]  outbox sorted set (pending orders, score = accepted_at)
--          (all four share the voucher id as hash tag)
-- ARGV[1]  'outbox': pending orders accepted at or before ARGV[2] (unix ms), at most ARGV[3];
--          'all': the whole sale
--
-- Returns for 'outbox': {field1, value1, field2, value2, ...} from the orders hash;
--         for 'all': {sale fields+values, buyers fields+values, orders fields+values} as three
--         flat lists; {} when the sale is not loaded.
if ARGV[1] == 'outbox' then
  local fields = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))
  local out = {}
  for _, f in ipairs(fields) do
    local v = redis.call('HGET', KEYS[3], f)
    if v then
      table.insert(out, f)
      table.insert(out, v)
    end
  end
  return out
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {}
end
return {redis.call('HGETALL', KEYS[1]), redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3])}
