-- seckill-reserve: the flash-sale hot path. Checks the sale window, the per-user limit and the
-- stock, then the sale's admission bucket, then takes one unit and records the reservation in the
-- outbox — all in one atomic step, so an accepted order is never lost and stock is never oversold.
--
-- KEYS[1]  sale hash {stock, initial, begin, end, limit, np, nc, nk, nx, bt, br} (begin/end unix
--          ms; n<state> = how many orders are in that state, kept with every change; bt/br = the
--          admission bucket's tokens left and when it was last refilled, unix ms)
-- KEYS[2]  buyers hash: user id -> reservations held (the per-user limit), and
--          's'..user id -> the user's slots: char n is '1' while the n-th slot (seq n) is held
-- KEYS[3]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'; state p = pending,
--          c = committed (in Postgres), k = cancelled (stock back), x = failed (stock + quota back)
-- KEYS[4]  outbox sorted set: 'o'..order id (pending only), score = accepted_at
-- KEYS[5]  idempotency hash: 'user|key' -> 'o'..order id of the acceptance (refusals are not
--          recorded); expires with the sale's other keys
--          (all five share the voucher id as hash tag)
-- ARGV[1]  user id
-- ARGV[2]  order id (decimal string; never converted to a Lua number)
-- ARGV[3]  now, unix ms
-- ARGV[4]  idempotency key, or '' for none
-- ARGV[5]  retention after the sale ends, ms (key TTLs)
-- ARGV[6]  admission bucket size = tokens added per interval, or ''/absent for no bucket
-- ARGV[7]  admission bucket interval, ms (with ARGV[6])
--
-- The bucket (refilled in whole intervals, like @upstash/ratelimit's tokenBucket) meters would-be
-- acceptances only: a retry of this order id, an idempotent replay and every refusal (1-4) answer
-- before it and take no token, so nothing that cannot buy spends the budget of those who can.
--
-- Safe to run twice: a re-execution with the same order id (the client retrying a request whose
-- reply was lost) finds its own reservation and returns the first outcome, {0, order, seq},
-- without taking stock again.
--
-- Returns {0, 'o'..order id, seq}  accepted (seq = this user's n-th reservation),
--         {code, ''}  refused: 1 not started, 2 ended, 3 limit reached, 4 sold out,
--         {5, 'o'..order id} an idempotent replay of this key's acceptance,
--         {6, '', retry after ms}  the admission bucket is empty (nothing changed),
--         {-1, ''}  the sale is not loaded into Redis (load it, then retry).
local user = ARGV[1]
local order = 'o' .. ARGV[2]
local now = tonumber(ARGV[3])
local idem = ARGV[4]
local idem_field = user .. '|' .. idem
local mine = redis.call('HGET', KEYS[3], order)
if mine then
  local owner, seq = string.match(mine, '^%a|([^|]*)|([^|]*)|')
  if owner == user then
    return {0, order, tonumber(seq)}
  end
end
if idem ~= '' then
  local seen = redis.call('HGET', KEYS[5], idem_field)
  if seen then
    return {5, seen}
  end
end
local sale = redis.call('HMGET', KEYS[1], 'stock', 'begin', 'end', 'limit')
if not (sale[1] and sale[2] and sale[3] and sale[4]) then
  return {-1, ''}
end
local code = 0
if now < tonumber(sale[2]) then
  code = 1
elseif now >= tonumber(sale[3]) then
  code = 2
elseif tonumber(redis.call('HGET', KEYS[2], user) or '0') >= tonumber(sale[4]) then
  code = 3
elseif tonumber(sale[1]) <= 0 then
  code = 4
end
if code ~= 0 then
  -- A refusal changed nothing, so it is not recorded: a retry is answered afresh (a sale that
  -- had not started may have started; stock given back may be there).
  return {code, ''}
end
local max = tonumber(ARGV[6] or '')
if max then
  local interval = tonumber(ARGV[7])
  local bucket = redis.call('HMGET', KEYS[1], 'bt', 'br')
  local tokens = math.min(tonumber(bucket[1]) or max, max)
  local refilled = tonumber(bucket[2]) or now
  if now >= refilled + interval then
    local refills = math.floor((now - refilled) / interval)
    tokens = math.min(max, tokens + refills * max)
    refilled = refilled + refills * interval
  end
  if tokens < 1 then
    return {6, '', refilled + interval - now}
  end
  redis.call('HSET', KEYS[1], 'bt', tokens - 1, 'br', string.format('%.0f', refilled))
end
redis.call('HINCRBY', KEYS[1], 'stock', -1)
redis.call('HINCRBY', KEYS[1], 'np', 1)
-- The lowest free slot: a slot freed by a failed order is reused, never one still held.
local slots = redis.call('HGET', KEYS[2], 's' .. user)
local held = tonumber(redis.call('HGET', KEYS[2], user) or '0')
local seq
if slots then
  seq = string.find(slots, '0', 1, true) or (#slots + 1)
elseif held > 0 then
  seq = held + 1 -- a sale loaded before slots were kept
else
  slots = ''
  seq = 1
end
if slots then
  if #slots < seq then
    slots = slots .. string.rep('0', seq - #slots)
  end
  redis.call('HSET', KEYS[2], 's' .. user, string.sub(slots, 1, seq - 1) .. '1' .. string.sub(slots, seq + 1))
end
redis.call('HINCRBY', KEYS[2], user, 1)
redis.call('HSET', KEYS[3], order, 'p|' .. user .. '|' .. seq .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[4], now, order)
if idem ~= '' then
  redis.call('HSET', KEYS[5], idem_field, order)
end
local ttl = math.max(tonumber(sale[3]) + tonumber(ARGV[5]) - now, 60000)
for i = 2, 5 do
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return {0, order, seq}
