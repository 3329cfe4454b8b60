-- bitmap-set: set several bits of one bitmap to 1, atomically (adding to a Bloom filter).
--
-- KEYS[1]  the bitmap (created when absent; never expires)
-- ARGV[1], ARGV[2], ...  bit offsets (whole numbers, 0 <= offset < 2^32)
--
-- Returns the number of those bits that were 0 before the call.
local changed = 0
for i = 1, #ARGV do
  changed = changed + 1 - redis.call('SETBIT', KEYS[1], ARGV[i], 1)
end
return changed
