import { describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { SystemClock } from '../../src/adapters/system/clock.ts'
import { randomToken } from '../../src/adapters/system/random.ts'
import { acquireLock } from '../../src/domain/lock.ts'
import type { Clock } from '../../src/domain/ports/clock.ts'
import type { Lock } from '../../src/domain/ports/lock.ts'

export type MakeLock = (clock: Clock) => Promise<{ lock: Lock; dispose(): Promise<void> }>

/** The Lock port's contract; every adapter runs it. */
export function lockContract(name: string, make: MakeLock) {
  describe(`Lock contract [${name}]`, () => {
    async function setup(clock: Clock = new ManualClock()) {
      const h = await make(clock)
      return { ...h, clock, name: `res-${randomToken(6)}` }
    }

    it('grants a free lease and refuses a second owner, reporting when to retry', async () => {
      const { lock, name, dispose } = await setup()
      expect(await lock.tryAcquire(name, 'A', 5_000)).toEqual({ acquired: true, holds: 1 })
      const other = await lock.tryAcquire(name, 'B', 5_000)
      expect(other.acquired).toBe(false)
      if (!other.acquired) expect(other.retryAfterMs).toBe(5_000)
      await dispose()
    })

    it('lets only the owner release (compare-and-delete)', async () => {
      const { lock, name, dispose } = await setup()
      await lock.tryAcquire(name, 'A', 5_000)
      expect(await lock.release(name, 'B')).toBe('not-owner')
      expect((await lock.tryAcquire(name, 'B', 5_000)).acquired).toBe(false)
      expect(await lock.release(name, 'A')).toBe('released')
      expect(await lock.release(name, 'A')).toBe('not-owner')
      expect((await lock.tryAcquire(name, 'B', 5_000)).acquired).toBe(true)
      await dispose()
    })

    it('frees an expired lease; the old owner can then neither release nor extend it', async () => {
      const clock = new ManualClock()
      const { lock, name, dispose } = await setup(clock)
      await lock.tryAcquire(name, 'A', 10_000)
      await clock.advance(9_999)
      expect((await lock.tryAcquire(name, 'B', 10_000)).acquired).toBe(false)
      await clock.advance(1)
      expect(await lock.tryAcquire(name, 'B', 10_000)).toEqual({ acquired: true, holds: 1 })
      expect(await lock.release(name, 'A')).toBe('not-owner')
      expect(await lock.extend(name, 'A', 10_000)).toBe(false)
      expect((await lock.tryAcquire(name, 'C', 10_000)).acquired).toBe(false)
      await dispose()
    })

    it('is re-entrant for its owner: each acquisition needs one release', async () => {
      const { lock, name, dispose } = await setup()
      expect(await lock.tryAcquire(name, 'A', 5_000)).toEqual({ acquired: true, holds: 1 })
      expect(await lock.tryAcquire(name, 'A', 5_000)).toEqual({ acquired: true, holds: 2 })
      expect(await lock.release(name, 'A')).toBe('held')
      expect((await lock.tryAcquire(name, 'B', 5_000)).acquired).toBe(false)
      expect(await lock.release(name, 'A')).toBe('released')
      expect((await lock.tryAcquire(name, 'B', 5_000)).acquired).toBe(true)
      await dispose()
    })

    it('extends the lease for its owner only', async () => {
      const clock = new ManualClock()
      const { lock, name, dispose } = await setup(clock)
      await lock.tryAcquire(name, 'A', 1_000)
      await clock.advance(800)
      expect(await lock.extend(name, 'B', 1_000)).toBe(false)
      expect(await lock.extend(name, 'A', 1_000)).toBe(true)
      await clock.advance(800) // 1600 ms after acquiring: alive only because it was extended
      const other = await lock.tryAcquire(name, 'B', 1_000)
      expect(other).toEqual({ acquired: false, retryAfterMs: 200 })
      await dispose()
    })

    it('waits a bounded time, retrying until the holder releases', async () => {
      const clock = new ManualClock()
      const { lock, name, dispose } = await setup(clock)
      await lock.tryAcquire(name, 'A', 60_000)
      const attempts = vi.spyOn(lock, 'tryAcquire')
      const waiting = acquireLock({ lock, clock }, name, 'B', {
        ttlMs: 5_000,
        waitMs: 1_000,
        retryMs: 100,
      })
      for (let i = 0; i < 3; i++) {
        await vi.waitFor(() => expect(clock.pending).toBe(1))
        await clock.advance(100)
      }
      await vi.waitFor(() => expect(clock.pending).toBe(1))
      expect(await lock.release(name, 'A')).toBe('released')
      await clock.advance(100)
      expect(await waiting).toBe(true)
      expect(attempts).toHaveBeenCalledTimes(5)
      await dispose()
    })

    it('gives up when the wait runs out', async () => {
      const clock = new ManualClock()
      const { lock, name, dispose } = await setup(clock)
      await lock.tryAcquire(name, 'A', 60_000)
      const waiting = acquireLock({ lock, clock }, name, 'B', {
        ttlMs: 5_000,
        waitMs: 300,
        retryMs: 100,
      })
      for (let i = 0; i < 3; i++) {
        await vi.waitFor(() => expect(clock.pending).toBe(1))
        await clock.advance(100)
      }
      expect(await waiting).toBe(false)
      expect(await lock.release(name, 'A')).toBe('released')
      await dispose()
    })

    it('50 concurrent contenders: every one gets the lease, never two at a time', async () => {
      const clock = new SystemClock()
      const { lock, name, dispose } = await setup(clock)
      let inside = 0
      let maxInside = 0
      let served = 0
      await Promise.all(
        Array.from({ length: 50 }, async () => {
          const owner = randomToken()
          const ok = await acquireLock({ lock, clock }, name, owner, {
            ttlMs: 10_000,
            waitMs: 30_000,
            retryMs: 2,
          })
          expect(ok).toBe(true)
          inside += 1
          maxInside = Math.max(maxInside, inside)
          // Do real work on the adapter while holding the lease, so others get a chance to race.
          expect(await lock.extend(name, owner, 10_000)).toBe(true)
          served += 1
          inside -= 1
          expect(await lock.release(name, owner)).toBe('released')
        })
      )
      expect(served).toBe(50)
      expect(maxInside).toBe(1)
      await dispose()
    })
  })
}
