import { describe, expect, it } from 'vitest'
import type { Pacer } from '../../src/domain/ports/pacer.ts'

/** The Pacer port's contract; every adapter runs it. */
export function pacerContract(name: string, make: () => Pacer) {
  describe(`Pacer contract [${name}]`, () => {
    it('resolves on a later macrotask, never within the current one', async () => {
      const pacer = make()
      let resumed = false
      const paused = pacer.pause().then(() => {
        resumed = true
      })
      // However many microtasks run (a chunk's awaited in-memory calls), the pause has not ended.
      for (let i = 0; i < 1_000; i++) await Promise.resolve()
      expect(resumed).toBe(false)
      await paused
      expect(resumed).toBe(true)
    })

    it('lets other macrotasks run: a loop of pauses never starves a timer', async () => {
      const pacer = make()
      let fired = false
      setTimeout(() => {
        fired = true
      }, 0)
      let pauses = 0
      while (!fired) {
        await pacer.pause()
        pauses += 1
      }
      expect(pauses).toBeGreaterThan(0)
    })

    it('pauses are independent: many at once all resolve', async () => {
      const pacer = make()
      const done = await Promise.all(
        Array.from({ length: 100 }, (_, i) => pacer.pause().then(() => i))
      )
      expect(done).toHaveLength(100)
    })
  })
}
