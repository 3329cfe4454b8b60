import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import type { WindowLimiter } from '../../src/domain/ports/window-limiter.ts'

export type MakeLimiter = (clock: ManualClock) => Promise<WindowLimiter>

const S = 1000
const M = 60 * S
const tiers = [
  { max: 1, windowMs: M },
  { max: 5, windowMs: 5 * M },
  { max: 10, windowMs: 20 * M },
]

/** The WindowLimiter port's contract; every adapter runs it. */
export function windowLimiterContract(name: string, make: MakeLimiter) {
  describe(`WindowLimiter contract [${name}]`, () => {
    const key = () => `k-${crypto.randomUUID().slice(0, 8)}`

    it('peek gives the verdict without recording an event', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const k = key()
      const two = [{ max: 2, windowMs: M }]
      expect(await limiter.peek(k, two)).toEqual({ allowed: true })
      expect(await limiter.peek(k, two)).toEqual({ allowed: true })
      expect(await limiter.hit(k, two)).toEqual({ allowed: true })
      expect(await limiter.peek(k, two)).toEqual({ allowed: true })
      await clock.advance(S)
      expect(await limiter.hit(k, two)).toEqual({ allowed: true })
      expect(await limiter.peek(k, two)).toEqual({ allowed: false, tier: 0, retryAfterMs: M - S })
      expect(await limiter.hit(k, two)).toMatchObject({ allowed: false })
    })

    it('undoLast forgets the latest event, so the next hit is allowed again', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const k = key()
      await limiter.undoLast(k) // nothing recorded: a no-op
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
      await clock.advance(10 * S)
      expect((await limiter.hit(k, tiers)).allowed).toBe(false) // refused hits record nothing
      await limiter.undoLast(k)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: false, tier: 0, retryAfterMs: M })
    })

    it('refuses a second event within the first tier, saying exactly when to retry', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const k = key()
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
      await clock.advance(10 * S)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: false, tier: 0, retryAfterMs: 50 * S })
      await clock.advance(50 * S - 1)
      expect((await limiter.hit(k, tiers)).allowed).toBe(false)
      await clock.advance(1)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
    })

    it('applies the longer tiers (5 per 5 minutes, 10 per 20 minutes)', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const k = key()
      const t0 = clock.now()
      // One event a minute at +0..+9 m: every 5-minute window (t-5m, t] holds at most 4 earlier
      // events, so all ten are admitted.
      for (let minute = 0; minute < 10; minute++) {
        await clock.set(t0 + minute * M)
        expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
      }
      // At +9m30s the 1-minute tier refuses first (the event at +9m leaves at +10m).
      await clock.set(t0 + 9 * M + 30 * S)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: false, tier: 0, retryAfterMs: 30 * S })
      // At +10m the 20-minute window holds ten events: refused until the one at +0m leaves (+20m).
      await clock.set(t0 + 10 * M)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: false, tier: 2, retryAfterMs: 10 * M })
      await clock.set(t0 + 20 * M)
      expect(await limiter.hit(k, tiers)).toEqual({ allowed: true })
    })

    it('reports the first refusing tier in order, with its own retry time', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const k = key()
      const t0 = clock.now()
      const two = [
        { max: 2, windowMs: M },
        { max: 3, windowMs: 5 * M },
      ]
      for (const seconds of [0, 30]) {
        await clock.set(t0 + seconds * S)
        expect((await limiter.hit(k, two)).allowed).toBe(true)
      }
      await clock.set(t0 + 45 * S)
      expect(await limiter.hit(k, two)).toEqual({ allowed: false, tier: 0, retryAfterMs: 15 * S })
      await clock.set(t0 + 90 * S)
      expect((await limiter.hit(k, two)).allowed).toBe(true)
      await clock.set(t0 + 120 * S)
      expect(await limiter.hit(k, two)).toEqual({ allowed: false, tier: 1, retryAfterMs: 180 * S })
    })

    it('keeps subjects apart', async () => {
      const clock = new ManualClock()
      const limiter = await make(clock)
      const [a, b] = [key(), key()]
      expect((await limiter.hit(a, tiers)).allowed).toBe(true)
      expect((await limiter.hit(b, tiers)).allowed).toBe(true)
      expect((await limiter.hit(a, tiers)).allowed).toBe(false)
    })

    it('admits exactly `max` of many concurrent events', async () => {
      const limiter = await make(new ManualClock())
      const k = key()
      const verdicts = await Promise.all(
        Array.from({ length: 30 }, () => limiter.hit(k, [{ max: 7, windowMs: M }]))
      )
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(7)
    })
  })
}
