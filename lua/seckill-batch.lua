-- seckill-batch: bounded steps of reconciliation on one sale (no step walks the whole sale).
--
-- KEYS[1]  sale hash {stock, initial, ..., np, nc, nk, nx (orders per state), rc (cursor)}
-- KEYS[2]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'
--          (both share the voucher id as hash tag)
-- ARGV[1]  the step:
--   'counters'           -> {stock, initial, np, nc, nk, nx, rc or '', counted}; counted = 0 for a
--                           sale loaded before the counters were kept (their values are then 0)
--   'records', ids...    -> the orders hash values of 'o'..id for each id (false when absent)
--   'scan', cursor, n    -> {next cursor, field1, value1, ...}: one HSCAN step of about n entries
--   'cursor', value      -> 1: stores the reconciliation cursor
--   'fix'                -> 1: stock := initial - np - nc (the counters' view)
-- Returns {} (or 0 for writes) when the sale is not loaded.
local mode = ARGV[1]
if redis.call('EXISTS', KEYS[1]) == 0 then
  if mode == 'cursor' or mode == 'fix' then
    return 0
  end
  return {}
end
if mode == 'counters' then
  local v = redis.call('HMGET', KEYS[1], 'stock', 'initial', 'np', 'nc', 'nk', 'nx', 'rc')
  return {v[1], v[2], v[3] or '0', v[4] or '0', v[5] or '0', v[6] or '0', v[7] or '', v[3] and 1 or 0}
end
if mode == 'records' then
  local fields = {}
  for i = 2, #ARGV do
    fields[#fields + 1] = 'o' .. ARGV[i]
  end
  if #fields == 0 then
    return {}
  end
  return redis.call('HMGET', KEYS[2], unpack(fields))
end
if mode == 'scan' then
  local r = redis.call('HSCAN', KEYS[2], ARGV[2], 'COUNT', tonumber(ARGV[3]))
  local out = {r[1]}
  for i = 1, #r[2] do
    out[#out + 1] = r[2][i]
  end
  return out
end
if mode == 'cursor' then
  redis.call('HSET', KEYS[1], 'rc', ARGV[2])
  return 1
end
if mode == 'fix' then
  local v = redis.call('HMGET', KEYS[1], 'initial', 'np', 'nc')
  if not v[2] then
    return 0 -- no counters (an older load): only a full audit can say
  end
  redis.call('HSET', KEYS[1], 'stock', tonumber(v[1]) - tonumber(v[2] or '0') - tonumber(v[3] or '0'))
  return 1
end
return redis.error_reply('unknown mode')
