-- seckill-transition: moves one reservation to another state, adjusting stock and the buyer's
-- quota exactly once. Used to commit (p -> c after the Postgres commit), to release (c -> k on
-- cancel, p|c -> x on failure) and by reconciliation (any -> any, including adopting an order
-- Postgres has but Redis lost).
--
-- KEYS[1]  sale hash {stock, np, nc, nk, nx, ...} (n<state>: orders per state)
-- KEYS[2]  buyers hash: user id -> reservations held; 's'..user id -> slots held ('1' at seq)
-- KEYS[3]  orders hash: 'o'..order id -> 'state|user|seq|accepted_at'
-- KEYS[4]  outbox sorted set (pending orders)
--          (all four share the voucher id as hash tag)
-- ARGV[1]  order id
-- ARGV[2]  target state: c, k or x
-- ARGV[3]  allowed current states, e.g. 'p' or 'pc'; '*' = any, '-' included = also when unknown
-- ARGV[4]  user id, ARGV[5] seq, ARGV[6] accepted_at: used only when the order is unknown
--
-- Stock is held by states p and c; the buyer's quota by p, c and k.
-- Returns {1, from}  applied (from = previous state, '-' when unknown),
--         {0, from}  already in the target state (nothing to do),
--         {-1, from} refused: the current state is not allowed,
--         {-2, ''}   the sale is not loaded.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {-2, ''}
end
local field = 'o' .. ARGV[1]
local to = ARGV[2]
local allowed = ARGV[3]
local current = redis.call('HGET', KEYS[3], field)
local from, user, rest
if current then
  from = string.sub(current, 1, 1)
  user = string.match(current, '^%a|([^|]*)|')
  rest = string.sub(current, 2)
else
  from = '-'
  user = ARGV[4]
  rest = '|' .. ARGV[4] .. '|' .. ARGV[5] .. '|' .. ARGV[6]
end
if from == to then
  return {0, from}
end
if allowed ~= '*' and not string.find(allowed, from, 1, true) then
  return {-1, from}
end
local holds_stock = {p = 1, c = 1, k = 0, x = 0}
local holds_quota = {p = 1, c = 1, k = 1, x = 0}
holds_stock['-'] = 0
holds_quota['-'] = 0
local stock_back = holds_stock[from] - holds_stock[to]
local quota_delta = holds_quota[to] - holds_quota[from]
if stock_back ~= 0 then
  redis.call('HINCRBY', KEYS[1], 'stock', stock_back)
end
if quota_delta ~= 0 then
  local now_held = redis.call('HINCRBY', KEYS[2], user, quota_delta)
  -- The order's slot (seq) is held exactly while its quota is.
  local slots = redis.call('HGET', KEYS[2], 's' .. user)
  if slots or (quota_delta > 0 and now_held == 1) then
    slots = slots or ''
    local seq = tonumber(string.match(rest, '^|[^|]*|([^|]*)|')) or 0
    if seq > 0 then
      if #slots < seq then
        slots = slots .. string.rep('0', seq - #slots)
      end
      local mark = quota_delta > 0 and '1' or '0'
      redis.call('HSET', KEYS[2], 's' .. user, string.sub(slots, 1, seq - 1) .. mark .. string.sub(slots, seq + 1))
    end
  end
end
if from ~= '-' then
  redis.call('HINCRBY', KEYS[1], 'n' .. from, -1)
end
redis.call('HINCRBY', KEYS[1], 'n' .. to, 1)
redis.call('HSET', KEYS[3], field, to .. rest)
redis.call('ZREM', KEYS[4], field)
return {1, from}
