import { describe, expect, it } from 'vitest'
import type { Clock } from '../../src/domain/ports/clock.ts'

export interface ClockHarness {
  clock: Clock
  /** Lets `ms` of this clock's time pass (a manual clock is advanced; a real one is waited on). */
  pass(ms: number): Promise<void>
}

/** The Clock port's contract; every adapter runs it. */
export function clockContract(name: string, make: () => ClockHarness) {
  describe(`Clock contract [${name}]`, () => {
    it('reports Unix epoch milliseconds that never go backwards', async () => {
      const { clock, pass } = make()
      const a = clock.now()
      expect(Number.isInteger(a)).toBe(true)
      expect(a).toBeGreaterThan(Date.UTC(2020, 0, 1))
      await pass(5)
      expect(clock.now()).toBeGreaterThanOrEqual(a + 5)
    })

    it('wakes a sleeper only once its time has passed', async () => {
      const { clock, pass } = make()
      const start = clock.now()
      let woke = false
      const sleeping = clock.sleep(20).then(() => {
        woke = true
      })
      await pass(20)
      await sleeping
      expect(woke).toBe(true)
      expect(clock.now() - start).toBeGreaterThanOrEqual(20)
    })

    it('resolves a sleep early when its signal aborts', async () => {
      const { clock } = make()
      const stop = new AbortController()
      const sleeping = clock.sleep(3_600_000, stop.signal)
      stop.abort()
      await expect(sleeping).resolves.toBeUndefined()
      await expect(clock.sleep(3_600_000, stop.signal)).resolves.toBeUndefined()
    })
  })
}
