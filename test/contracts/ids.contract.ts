import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { ID_EPOCH_SECONDS } from '../../src/domain/ids.ts'
import type { Clock } from '../../src/domain/ports/clock.ts'
import type { Ids } from '../../src/domain/ports/ids.ts'

export type MakeIds = (clock: Clock) => Promise<{ ids: Ids; dispose(): Promise<void> }>

/** The Ids port's contract; every adapter runs it. */
export function idsContract(name: string, make: MakeIds) {
  describe(`Ids contract [${name}]`, () => {
    it('encodes the time in the high bits and a sequence in the low 32 bits, as a decimal string', async () => {
      const clock = new ManualClock(Date.UTC(2026, 10, 23, 12, 0, 0))
      const { ids, dispose } = await make(clock)
      const kind = `k${crypto.randomUUID().slice(0, 8)}`
      const a = await ids.next(kind)
      const b = await ids.next(kind)
      expect(a).toMatch(/^[1-9]\d*$/)
      const seconds = Number(BigInt(a) >> 32n)
      expect(seconds).toBe(Date.UTC(2026, 10, 23, 12, 0, 0) / 1000 - ID_EPOCH_SECONDS)
      expect(BigInt(a) & 0xffffffffn).toBe(1n)
      expect(BigInt(b) - BigInt(a)).toBe(1n)
      expect(BigInt(a)).toBeGreaterThan(BigInt(Number.MAX_SAFE_INTEGER))
      await dispose()
    })

    it('restarts the sequence each UTC day and keeps ids increasing', async () => {
      const clock = new ManualClock(Date.UTC(2026, 10, 23, 23, 59, 59))
      const { ids, dispose } = await make(clock)
      const kind = `k${crypto.randomUUID().slice(0, 8)}`
      const late = await ids.next(kind)
      await ids.next(kind)
      await clock.advance(2_000)
      const early = await ids.next(kind)
      expect(BigInt(early) & 0xffffffffn).toBe(1n)
      expect(BigInt(early)).toBeGreaterThan(BigInt(late))
      await dispose()
    })

    it('never repeats under 500 concurrent calls', async () => {
      const { ids, dispose } = await make(new ManualClock())
      const kind = `k${crypto.randomUUID().slice(0, 8)}`
      const all = await Promise.all(Array.from({ length: 500 }, () => ids.next(kind)))
      expect(new Set(all).size).toBe(500)
      await dispose()
    })

    it('mints 128-bit URL-safe tokens from a CSPRNG', async () => {
      const { ids, dispose } = await make(new ManualClock())
      const tokens = Array.from({ length: 1000 }, () => ids.token())
      expect(new Set(tokens).size).toBe(1000)
      for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(ids.token(32)).toMatch(/^[A-Za-z0-9_-]{43}$/)
      await dispose()
    })
  })
}
