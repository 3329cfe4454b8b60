import { describe, expect, it } from 'vitest'
import type { LikeIndex } from '../../src/domain/ports/likes.ts'

/** The LikeIndex port's contract; `make` returns an empty index (a fresh namespace). */
export function likeIndexContract(name: string, make: () => Promise<LikeIndex>) {
  describe(`LikeIndex contract [${name}]`, () => {
    const BIG = '9007199254740993' // > 2^53: must survive as text

    it('records, reports and removes likers idempotently', async () => {
      const likes = await make()
      await likes.put('1', '10', 1000)
      await likes.put('1', '10', 1000)
      await likes.put('1', BIG, 2000)
      await likes.put('2', '10', 3000)
      expect(await likes.count('1')).toBe(2)
      expect(await likes.likedBy(['1', '2', '3'], '10')).toEqual([true, true, false])
      expect(await likes.likedBy(['1', '2'], BIG)).toEqual([true, false])
      expect(await likes.likedBy([], '10')).toEqual([])
      await likes.put('1', '10', null)
      await likes.put('1', '10', null)
      expect(await likes.likedBy(['1'], '10')).toEqual([false])
      expect(await likes.count('1')).toBe(1)
      expect(await likes.earliest('1', 5)).toEqual([{ userId: BIG, atMs: 2000 }])
      expect(await likes.count('404')).toBe(0)
      expect(await likes.earliest('404', 5)).toEqual([])
    })

    it('earliest(5) returns exactly the 5 earliest, by time then user id', async () => {
      const likes = await make()
      const times: [string, number][] = [
        ['7', 700],
        ['1', 100],
        ['3', 300],
        ['22', 200],
        ['21', 200],
        ['6', 600],
        ['5', 500],
      ]
      for (const [user, at] of times) await likes.put('9', user, at)
      expect(await likes.earliest('9', 5)).toEqual([
        { userId: '1', atMs: 100 },
        { userId: '21', atMs: 200 },
        { userId: '22', atMs: 200 },
        { userId: '3', atMs: 300 },
        { userId: '5', atMs: 500 },
      ])
      expect(await likes.earliest('9', 0)).toEqual([])
      // Re-liking at a new time moves the liker.
      await likes.put('9', '1', 800)
      expect((await likes.earliest('9', 1))[0]).toEqual({ userId: '21', atMs: 200 })
    })

    it('replace swaps the whole set atomically; an empty list clears it', async () => {
      const likes = await make()
      await likes.put('5', 'x1', 1)
      const many = Array.from({ length: 2500 }, (_, i) => ({ userId: String(i + 1), atMs: i }))
      await likes.replace('5', many)
      expect(await likes.count('5')).toBe(2500)
      expect(await likes.likedBy(['5'], 'x1')).toEqual([false])
      expect(await likes.earliest('5', 2)).toEqual([
        { userId: '1', atMs: 0 },
        { userId: '2', atMs: 1 },
      ])
      await likes.replace('5', [])
      expect(await likes.count('5')).toBe(0)
    })
  })
}
