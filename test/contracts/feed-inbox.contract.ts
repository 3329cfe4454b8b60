import { describe, expect, it } from 'vitest'
import type { FeedInbox } from '../../src/domain/ports/feed.ts'

/** The FeedInbox port's contract; `make` returns empty inboxes (a fresh namespace). */
export function feedInboxContract(name: string, make: () => Promise<FeedInbox>) {
  describe(`FeedInbox contract [${name}]`, () => {
    const all = { max: null, offset: 0, limit: 100 }

    it('pushes to many inboxes at once; re-pushing is a no-op', async () => {
      const inbox = await make()
      await inbox.push(['1', '2', '3'], '100', 5000, 10)
      await inbox.push(['1', '2', '3'], '100', 5000, 10)
      await inbox.push(['2'], '101', 6000, 10)
      expect(await inbox.range('1', all)).toEqual([{ blogId: '100', score: 5000 }])
      expect(await inbox.range('2', all)).toEqual([
        { blogId: '101', score: 6000 },
        { blogId: '100', score: 5000 },
      ])
      expect(await inbox.range('4', all)).toEqual([])
      await inbox.push([], '102', 1, 10)
    })

    it('orders by score descending, then blog id descending; ranges by score and position', async () => {
      const inbox = await make()
      const entries: [string, number][] = [
        ['11', 6],
        ['12', 5],
        ['13', 5],
        ['14', 5],
        ['9', 5],
        ['15', 3],
      ]
      for (const [id, s] of entries) await inbox.push(['u'], id, s, 100)
      const ids = async (r: Parameters<FeedInbox['range']>[1]) =>
        (await inbox.range('u', r)).map((e) => `${e.blogId}@${e.score}`)
      expect(await ids(all)).toEqual(['11@6', '9@5', '14@5', '13@5', '12@5', '15@3'])
      expect(await ids({ max: 5, offset: 1, limit: 2 })).toEqual(['14@5', '13@5'])
      expect(await ids({ max: 5, maxExclusive: true, offset: 0, limit: 10 })).toEqual(['15@3'])
      expect(await ids({ max: 5, min: 5, offset: 0, limit: 10 })).toEqual([
        '9@5',
        '14@5',
        '13@5',
        '12@5',
      ])
      expect(await ids({ max: null, offset: 5, limit: 10 })).toEqual(['15@3'])
      expect(await ids({ max: null, offset: 0, limit: 0 })).toEqual([])
      expect(await ids({ max: 2, offset: 0, limit: 10 })).toEqual([])
    })

    it('keeps exact scores (Unix ms) and ids beyond 2^53', async () => {
      const inbox = await make()
      const at = Date.UTC(2026, 0, 31, 23, 59, 59, 999)
      await inbox.push(['7'], '9007199254740993', at, 10)
      expect(await inbox.range('7', all)).toEqual([{ blogId: '9007199254740993', score: at }])
    })

    it('trims every inbox to its newest maxLen entries', async () => {
      const inbox = await make()
      for (let i = 1; i <= 8; i++) await inbox.push(['a', 'b'], String(100 + i), i * 10, 5)
      for (const user of ['a', 'b']) {
        expect((await inbox.range(user, all)).map((e) => e.blogId)).toEqual([
          '108',
          '107',
          '106',
          '105',
          '104',
        ])
      }
      // An entry older than everything kept is trimmed right away.
      await inbox.push(['a'], '100', 1, 5)
      expect(await inbox.range('a', { max: null, offset: 4, limit: 5 })).toEqual([
        { blogId: '104', score: 40 },
      ])
    })

    it('removes entries; absent ones are ignored', async () => {
      const inbox = await make()
      await inbox.push(['u'], '1', 1, 10)
      await inbox.push(['u'], '2', 2, 10)
      await inbox.remove('u', ['2', '3'])
      await inbox.remove('nobody', ['1'])
      await inbox.remove('u', [])
      expect(await inbox.range('u', all)).toEqual([{ blogId: '1', score: 1 }])
    })
  })
}
