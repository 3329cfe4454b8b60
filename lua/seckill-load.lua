-- seckill-load: loads a flash sale into Redis when it is missing (first use, or after data loss),
-- never overwriting a live one. Entries may come in several calls; the sale hash is written by
-- the last call, so reservations wait (NOT_LOADED) until everything is in.
--
-- KEYS[1]  sale hash {stock, initial, begin, end, limit, np, nc, nk, nx}
-- KEYS[2]  buyers hash: user id -> reservations held; 's'..user id -> slots held ('1' at seq)
-- KEYS[3]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'
--          (all three share the voucher id as hash tag)
-- ARGV[1]  1 when this call completes the load (writes the sale hash), else 0
-- ARGV[2..6]  stock, initial, begin, end, limit (used when ARGV[1] = 1)
-- ARGV[7]  now, unix ms
-- ARGV[8]  retention after the sale ends, ms (key TTLs)
-- ARGV[9..12]  how many of the sale's orders are pending, committed, cancelled, failed (with ARGV[1] = 1)
-- ARGV[13..]  triples: order id, 'state|user|seq|accepted_at', buyer count (for that user)
--
-- Returns 1 when written, 0 when the sale was already loaded (nothing changed).
if redis.call('EXISTS', KEYS[1]) == 1 then
  return 0
end
for i = 13, #ARGV, 3 do
  redis.call('HSET', KEYS[3], 'o' .. ARGV[i], ARGV[i + 1])
  local state, user, seq = string.match(ARGV[i + 1], '^(%a)|([^|]*)|([^|]*)|')
  redis.call('HSET', KEYS[2], user, ARGV[i + 2])
  seq = tonumber(seq)
  if state ~= 'x' and seq and seq > 0 then
    local slots = redis.call('HGET', KEYS[2], 's' .. user) or ''
    if #slots < seq then
      slots = slots .. string.rep('0', seq - #slots)
    end
    redis.call('HSET', KEYS[2], 's' .. user, string.sub(slots, 1, seq - 1) .. '1' .. string.sub(slots, seq + 1))
  end
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'stock', ARGV[2], 'initial', ARGV[3], 'begin', ARGV[4], 'end', ARGV[5], 'limit', ARGV[6],
    'np', ARGV[9], 'nc', ARGV[10], 'nk', ARGV[11], 'nx', ARGV[12])
  local ttl = math.max(tonumber(ARGV[5]) + tonumber(ARGV[8]) - tonumber(ARGV[7]), 60000)
  for i = 1, 3 do
    redis.call('PEXPIRE', KEYS[i], ttl)
  end
end
return 1
