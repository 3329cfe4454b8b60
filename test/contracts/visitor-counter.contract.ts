import { describe, expect, it } from 'vitest'
import type { VisitorCounter } from '../../src/domain/ports/visitors.ts'

/**
 * The VisitorCounter port's contract; `make` returns an empty counter (a fresh namespace). Small
 * cardinalities are exact on HyperLogLog too (Redis's sparse encoding), so exact numbers are
 * asserted here; accuracy at scale is tested separately against the real adapter.
 */
export function visitorCounterContract(name: string, make: () => Promise<VisitorCounter>) {
  describe(`VisitorCounter contract [${name}]`, () => {
    it('counts unique visitors per day and their union', async () => {
      const uv = await make()
      await uv.record('20260101', ['u:1', 'u:2', 'ip:10.0.0.1'])
      await uv.record('20260101', ['u:1'])
      await uv.record('20260102', ['u:1', 'u:3'])
      await uv.record('20260103', [])
      expect(await uv.count(['20260101', '20260102', '20260103'])).toEqual({
        perDay: [3, 2, 0],
        union: 4,
      })
      expect(await uv.count(['20260102'])).toEqual({ perDay: [2], union: 2 })
      expect(await uv.count([])).toEqual({ perDay: [], union: 0 })
    })
  })
}
