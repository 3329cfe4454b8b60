import { describe, expect, it } from 'vitest'
import type { FollowIndex } from '../../src/domain/ports/follows.ts'

const sorted = (ids: string[]) => [...ids].sort()

/** The FollowIndex port's contract; `make` returns an empty index (a fresh namespace). */
export function followIndexContract(name: string, make: () => Promise<FollowIndex>) {
  describe(`FollowIndex contract [${name}]`, () => {
    it('intersects two users’ followees (SINTER), ids kept as exact text', async () => {
      const f = await make()
      const BIG = '9223372036854775807'
      for (const id of ['3', '4', '5', BIG]) await f.put('1', id, true)
      for (const id of ['4', '5', '6', BIG]) await f.put('2', id, true)
      await f.put('2', '6', true) // idempotent
      const { ids, missing } = await f.common('1', '2')
      expect(sorted(ids)).toEqual(sorted(['4', '5', BIG]))
      expect(missing).toEqual([])
      await f.put('2', '5', false)
      await f.put('2', '5', false)
      expect(sorted((await f.common('2', '1')).ids)).toEqual(sorted(['4', BIG]))
    })

    it('reports users without a set; a set emptied by removals is gone too', async () => {
      const f = await make()
      await f.put('1', '3', true)
      expect(await f.common('1', '2')).toEqual({ ids: [], missing: ['2'] })
      await f.put('1', '3', false)
      expect(await f.common('1', '2')).toEqual({ ids: [], missing: ['1', '2'] })
      expect(await f.common('7', '7')).toEqual({ ids: [], missing: ['7'] })
    })

    it('replace rebuilds a set atomically; an empty list deletes it', async () => {
      const f = await make()
      await f.put('1', '99', true)
      const many = Array.from({ length: 2100 }, (_, i) => String(i + 1))
      await f.replace('1', many)
      await f.replace('2', ['5', '2000', '3000'])
      expect(sorted((await f.common('1', '2')).ids)).toEqual(['2000', '5'])
      await f.replace('1', [])
      expect((await f.common('1', '2')).missing).toEqual(['1'])
    })
  })
}
