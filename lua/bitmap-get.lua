-- bitmap-get: read several bits of one bitmap in one round trip (a Bloom filter lookup).
--
-- KEYS[1]  the bitmap (a string; an absent key reads as all zeros)
-- ARGV[1], ARGV[2], ...  bit offsets (whole numbers, 0 <= offset < 2^32)
--
-- Returns an array with one integer per offset, in order: the bit there (1 or 0).
-- Read-only: the adapter runs it with EVALSHA_RO.
local bits = {}
for i = 1, #ARGV do
  bits[i] = redis.call('GETBIT', KEYS[1], ARGV[i])
end
return bits
