import { describe, expect, it } from 'vitest'
import type { RateLimiter } from '../../src/domain/ports/rate-limiter.ts'

/** Builds a limiter whose buckets hold `tokens`, refilled every `intervalMs` (real time). */
export type MakeRateLimiter = (bucket: {
  tokens: number
  intervalMs: number
}) => Promise<RateLimiter>

/** The RateLimiter port's contract; every adapter runs it. */
export function rateLimiterContract(name: string, make: MakeRateLimiter) {
  describe(`RateLimiter contract [${name}]`, () => {
    const key = () => `rl-${crypto.randomUUID().slice(0, 8)}`

    it('lets `tokens` requests through, then refuses with a reset time in the future', async () => {
      const limiter = await make({ tokens: 3, intervalMs: 60_000 })
      const k = key()
      const verdicts = []
      for (let i = 0; i < 5; i++) verdicts.push(await limiter.limit(k))
      expect(verdicts.map((v) => v.success)).toEqual([true, true, true, false, false])
      expect(verdicts.map((v) => v.remaining)).toEqual([2, 1, 0, 0, 0])
      expect(verdicts.every((v) => v.limit === 3)).toBe(true)
      expect(verdicts[3]!.resetAt).toBeGreaterThan(Date.now())
    })

    it('keeps buckets apart', async () => {
      const limiter = await make({ tokens: 1, intervalMs: 60_000 })
      const [a, b] = [key(), key()]
      expect((await limiter.limit(a)).success).toBe(true)
      expect((await limiter.limit(b)).success).toBe(true)
      expect((await limiter.limit(a)).success).toBe(false)
    })

    it('admits exactly `tokens` of many concurrent requests', async () => {
      const limiter = await make({ tokens: 10, intervalMs: 60_000 })
      const k = key()
      const verdicts = await Promise.all(Array.from({ length: 40 }, () => limiter.limit(k)))
      expect(verdicts.filter((v) => v.success)).toHaveLength(10)
    })
  })
}
