import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { MemoryFollowIndex } from '../../src/adapters/memory/follows.ts'
import { MemoryLikeIndex } from '../../src/adapters/memory/likes.ts'
import type { BlogRepository, LikeState, NewBlog } from '../../src/domain/ports/blogs.ts'
import type { FollowRepository } from '../../src/domain/ports/follows.ts'
import type { ProfileDirectory } from '../../src/domain/ports/profiles.ts'
import { setLike } from '../../src/domain/social/blogs.ts'
import { setFollow } from '../../src/domain/social/follows.ts'

/** Repositories over one database, plus fixtures the contracts need (users and shops). */
export interface SocialRepositoryHarness {
  blogs: BlogRepository
  follows: FollowRepository
  profiles: ProfileDirectory
  /** A new user; returns its id. */
  user(nickname?: string): Promise<string>
  /** A new shop; returns its id. */
  shop(): Promise<string>
  /** The count of like rows of a blog, read directly from the database. */
  likeRows(blogId: string): Promise<number>
  /** The count of follow rows of a pair, read directly from the database. */
  followRows(followerId: string, followeeId: string): Promise<number>
  dispose(): Promise<void>
}

const T0 = Date.UTC(2026, 0, 1, 8, 0, 0, 123)

/**
 * Fault injection, not synchronisation: a Redis write that takes 0–15 ms longer at random, which
 * reorders writes issued outside the database's locks (no assertion waits for it).
 */
const jitter = () => new Promise((resolve) => setTimeout(resolve, Math.floor(Math.random() * 16)))

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p
  } catch (e) {
    return e
  }
  throw new Error('expected a rejection')
}

/** The BlogRepository, FollowRepository and ProfileDirectory contracts on one database. */
export function socialRepositoriesContract(
  name: string,
  make: () => Promise<SocialRepositoryHarness>
): void {
  describe(`social repositories contract [${name}]`, () => {
    let h: SocialRepositoryHarness
    let shop: string
    beforeAll(async () => {
      h = await make()
      shop = await h.shop()
    })
    afterAll(async () => {
      await h?.dispose()
    })

    const newBlog = (authorId: string, over: Partial<NewBlog> = {}): NewBlog => ({
      authorId,
      shopId: shop,
      title: 'Best noodles',
      content: 'Ünïcödé 好吃 ✓',
      images: ['/imgs/a.jpg', 'https://cdn.example/b.png'],
      createdAt: T0,
      ...over,
    })

    describe('ProfileDirectory', () => {
      it('returns profiles in the order asked, each once, skipping unknown or odd ids', async () => {
        const a = await h.user('alice')
        const b = await h.user('bob')
        const got = await h.profiles.profiles([b, 'abc', a, '9223372036854775807', b, `0${a}`])
        expect(got).toEqual([
          { id: b, nickname: 'bob', icon: '' },
          { id: a, nickname: 'alice', icon: '' },
        ])
        expect(await h.profiles.profiles([])).toEqual([])
      })
    })

    describe('BlogRepository', () => {
      it('creates a blog and reads it back exactly, with its author', async () => {
        const author = await h.user('writer')
        const blog = await h.blogs.create(newBlog(author))
        expect(blog).toEqual({
          id: expect.stringMatching(/^[1-9][0-9]*$/),
          author: { id: author, nickname: 'writer', icon: '' },
          shopId: shop,
          title: 'Best noodles',
          content: 'Ünïcödé 好吃 ✓',
          images: ['/imgs/a.jpg', 'https://cdn.example/b.png'],
          likes: 0,
          createdAt: T0,
        })
        expect(await h.blogs.findById(blog.id)).toEqual(blog)
        for (const odd of ['', 'x', '0', '-1', `0${blog.id}`, '99999999999999999999']) {
          expect(await h.blogs.findById(odd)).toBeNull()
        }
      })

      it('refuses unknown shops and authors, naming the field', async () => {
        const author = await h.user()
        const noShop = await rejection(h.blogs.create(newBlog(author, { shopId: '999999999' })))
        expect(noShop).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'shopId' } })
        const noAuthor = await rejection(h.blogs.create(newBlog('999999999')))
        expect(noAuthor).toMatchObject({
          code: 'VALIDATION_FAILED',
          details: { field: 'authorId' },
        })
      })

      it('finds many by id in the order asked; lists by author (newest first) and by likes', async () => {
        const author = await h.user()
        const [b1, b2, b3] = [
          await h.blogs.create(newBlog(author, { title: 'one' })),
          await h.blogs.create(newBlog(author, { title: 'two' })),
          await h.blogs.create(newBlog(author, { title: 'three' })),
        ]
        const found = await h.blogs.findByIds([b3!.id, '1x', b1!.id, b3!.id, '999999999'])
        expect(found.map((b) => b.title)).toEqual(['three', 'one'])
        expect((await h.blogs.byAuthor(author, 0, 10)).map((b) => b.title)).toEqual([
          'three',
          'two',
          'one',
        ])
        expect((await h.blogs.byAuthor(author, 1, 1)).map((b) => b.title)).toEqual(['two'])
        expect(await h.blogs.byAuthor('nope', 0, 10)).toEqual([])

        const fans = [await h.user(), await h.user(), await h.user()]
        const noop = async () => {}
        for (const fan of fans) await h.blogs.setLike(b2!.id, fan, true, T0, noop)
        for (const fan of fans.slice(0, 2)) await h.blogs.setLike(b1!.id, fan, true, T0, noop)
        await h.blogs.setLike(b3!.id, fans[0]!, true, T0, noop)
        const hot = await h.blogs.hot(0, 1000)
        const mine = hot.filter((b) => b.author.id === author)
        expect(mine.map((b) => [b.title, b.likes])).toEqual([
          ['two', 3],
          ['one', 2],
          ['three', 1],
        ])
        for (let i = 1; i < hot.length; i++) {
          const [prev, cur] = [hot[i - 1]!, hot[i]!]
          expect(
            prev.likes > cur.likes || (prev.likes === cur.likes && BigInt(prev.id) > BigInt(cur.id))
          ).toBe(true)
        }
        expect(await h.blogs.hot(hot.length, 10)).toEqual([])
      })

      it('likes and unlikes idempotently; apply sees every real change and only those', async () => {
        const blog = await h.blogs.create(newBlog(await h.user()))
        const fan = await h.user()
        const applied: LikeState[] = []
        const apply = async (s: LikeState) => void applied.push(s)
        expect(await h.blogs.setLike(blog.id, fan, true, T0 + 5, apply)).toEqual({
          changed: true,
          state: { liked: true, atMs: T0 + 5 },
          likes: 1,
        })
        expect(await h.blogs.setLike(blog.id, fan, true, T0 + 9, apply)).toEqual({
          changed: false,
          state: { liked: true, atMs: T0 + 5 },
          likes: 1,
        })
        expect(await h.blogs.setLike(blog.id, fan, false, T0 + 10, apply)).toEqual({
          changed: true,
          state: { liked: false, atMs: null },
          likes: 0,
        })
        expect(await h.blogs.setLike(blog.id, fan, false, T0 + 11, apply)).toEqual({
          changed: false,
          state: { liked: false, atMs: null },
          likes: 0,
        })
        expect(applied).toEqual([
          { liked: true, atMs: T0 + 5 },
          { liked: false, atMs: null },
        ])
        expect(await h.likeRows(blog.id)).toBe(0)
        expect(await h.blogs.setLike('999999999', fan, true, T0, apply)).toBeNull()
        expect(await h.blogs.setLike('odd', fan, true, T0, apply)).toBeNull()
        const noUser = await rejection(h.blogs.setLike(blog.id, '999999999', true, T0, apply))
        expect(noUser).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'userId' } })
        expect((await h.blogs.findById(blog.id))?.likes).toBe(0)
      })

      it('rolls the like back when apply rejects', async () => {
        const blog = await h.blogs.create(newBlog(await h.user()))
        const fan = await h.user()
        const boom = new Error('redis down')
        const failing = async () => {
          throw boom
        }
        expect(await rejection(h.blogs.setLike(blog.id, fan, true, T0, failing))).toBe(boom)
        expect(await h.likeRows(blog.id)).toBe(0)
        expect((await h.blogs.findById(blog.id))?.likes).toBe(0)
        await h.blogs.setLike(blog.id, fan, true, T0, async () => {})
        expect(await rejection(h.blogs.setLike(blog.id, fan, false, T0, failing))).toBe(boom)
        expect(await h.likeRows(blog.id)).toBe(1)
        expect((await h.blogs.findById(blog.id))?.likes).toBe(1)
      })

      it('150 concurrent toggles by 3 users: count = rows, and the last apply per user = the truth', async () => {
        const blog = await h.blogs.create(newBlog(await h.user()))
        const fans = [await h.user(), await h.user(), await h.user()]
        const index = new Map<string, boolean>()
        const toggles = Array.from({ length: 150 }, (_, i) => {
          const fan = fans[i % 3]!
          const like = (i * 7919) % 5 < 3
          // The write lands after a random delay: only a caller holding the locks until it
          // lands (apply before commit) keeps the writes of one pair in commit order.
          return h.blogs.setLike(blog.id, fan, like, T0 + i, async (s) => {
            await jitter()
            index.set(fan, s.liked)
          })
        })
        await Promise.all(toggles)
        const rows = await h.likeRows(blog.id)
        expect((await h.blogs.findById(blog.id))?.likes).toBe(rows)
        for (const fan of fans) {
          let truth: boolean | undefined
          await h.blogs.syncLike(blog.id, fan, async (s) => {
            truth = s.liked
          })
          expect(index.get(fan) ?? false).toBe(truth)
        }
        expect([...index.values()].filter(Boolean).length).toBe(rows)
      })

      it('syncLike and syncLikers read the committed state under the lock', async () => {
        const blog = await h.blogs.create(newBlog(await h.user()))
        const [a, b, c] = [await h.user(), await h.user(), await h.user()]
        const noop = async () => {}
        await h.blogs.setLike(blog.id, b, true, T0 + 2, noop)
        await h.blogs.setLike(blog.id, a, true, T0 + 1, noop)
        await h.blogs.setLike(blog.id, c, true, T0 + 1, noop)
        let likers: unknown
        expect(
          await h.blogs.syncLikers(blog.id, async (l) => {
            likers = l
          })
        ).toBe(true)
        const first = BigInt(a) < BigInt(c) ? [a, c] : [c, a]
        expect(likers).toEqual([
          { userId: first[0], atMs: T0 + 1 },
          { userId: first[1], atMs: T0 + 1 },
          { userId: b, atMs: T0 + 2 },
        ])
        let state: unknown
        expect(
          await h.blogs.syncLike(blog.id, b, async (s) => {
            state = s
          })
        ).toBe(true)
        expect(state).toEqual({ liked: true, atMs: T0 + 2 })
        expect(
          await h.blogs.syncLike(blog.id, '999999999', async (s) => {
            state = s
          })
        ).toBe(true)
        expect(state).toEqual({ liked: false, atMs: null })
        expect(await h.blogs.syncLike('999999999', a, noop)).toBe(false)
        expect(await h.blogs.syncLikers('999999999', noop)).toBe(false)
      })

      it('tracks which blogs still wait for their fan-out', async () => {
        const author = await h.user()
        const old = await h.blogs.create(newBlog(author, { createdAt: 1_000 }))
        const recent = await h.blogs.create(newBlog(author, { createdAt: 2_000 }))
        const pending = async (before: number) =>
          (await h.blogs.pendingFanout(before, 1000)).map((b) => b.id)
        expect(await pending(1_000)).toContain(old.id)
        expect(await pending(1_000)).not.toContain(recent.id)
        expect(await pending(2_000)).toEqual(expect.arrayContaining([old.id, recent.id]))
        await h.blogs.markFannedOut([old.id, 'odd'])
        await h.blogs.markFannedOut([old.id])
        expect(await pending(2_000)).not.toContain(old.id)
        expect(await pending(2_000)).toContain(recent.id)
      })
    })

    describe('FollowRepository', () => {
      it('follows and unfollows idempotently; apply sees every real change and only those', async () => {
        const [me, them] = [await h.user(), await h.user()]
        const applied: boolean[] = []
        const apply = async (f: boolean) => void applied.push(f)
        expect(await h.follows.setFollow(me, them, true, T0, apply)).toEqual({
          changed: true,
          following: true,
        })
        expect(await h.follows.setFollow(me, them, true, T0, apply)).toEqual({
          changed: false,
          following: true,
        })
        expect(await h.follows.isFollowing(me, them)).toBe(true)
        expect(await h.follows.isFollowing(them, me)).toBe(false)
        expect(await h.follows.counts(me)).toEqual({ followers: 0, followees: 1 })
        expect(await h.follows.counts(them)).toEqual({ followers: 1, followees: 0 })
        expect(await h.follows.setFollow(me, them, false, T0, apply)).toEqual({
          changed: true,
          following: false,
        })
        expect(await h.follows.setFollow(me, them, false, T0, apply)).toEqual({
          changed: false,
          following: false,
        })
        expect(applied).toEqual([true, false])
        expect(await h.follows.setFollow(me, '999999999', true, T0, apply)).toBeNull()
        expect(await h.follows.setFollow(me, 'odd', true, T0, apply)).toBeNull()
        expect(await h.follows.counts('odd')).toEqual({ followers: 0, followees: 0 })
      })

      it('refuses following oneself (database CHECK)', async () => {
        const me = await h.user()
        await expect(h.follows.setFollow(me, me, true, T0, async () => {})).rejects.toThrow()
        expect(await h.followRows(me, me)).toBe(0)
      })

      it('50 concurrent follows of one pair make one row and one apply', async () => {
        const [me, them] = [await h.user(), await h.user()]
        let applies = 0
        const results = await Promise.all(
          Array.from({ length: 50 }, () =>
            h.follows.setFollow(me, them, true, T0, async () => void applies++)
          )
        )
        expect(results.filter((r) => r?.changed)).toHaveLength(1)
        expect(results.every((r) => r?.following)).toBe(true)
        expect(applies).toBe(1)
        expect(await h.followRows(me, them)).toBe(1)
      })

      it('concurrent follow/unfollow toggles: the last apply = the truth', async () => {
        const [me, them] = [await h.user(), await h.user()]
        let last: boolean | undefined
        await Promise.all(
          Array.from({ length: 60 }, (_, i) =>
            h.follows.setFollow(me, them, i % 3 !== 1, T0, async (f) => {
              await jitter()
              last = f
            })
          )
        )
        expect(last ?? false).toBe(await h.follows.isFollowing(me, them))
        expect(await h.followRows(me, them)).toBe((await h.follows.isFollowing(me, them)) ? 1 : 0)
      })

      it('pages followers by ascending id and hands all followees to syncFollowees', async () => {
        const star = await h.user()
        const fans = [await h.user(), await h.user(), await h.user(), await h.user()]
        for (const fan of fans) await h.follows.setFollow(fan, star, true, T0, async () => {})
        const sorted = [...fans].sort((x, y) => (BigInt(x) < BigInt(y) ? -1 : 1))
        expect(await h.follows.followers(star, null, 3)).toEqual(sorted.slice(0, 3))
        expect(await h.follows.followers(star, sorted[2]!, 3)).toEqual(sorted.slice(3))
        expect(await h.follows.followers(star, sorted[3]!, 3)).toEqual([])
        expect(await h.follows.followers('odd', null, 3)).toEqual([])
        await h.follows.setFollow(fans[0]!, fans[1]!, true, T0, async () => {})
        let followees: string[] = []
        expect(
          await h.follows.syncFollowees(fans[0]!, async (ids) => {
            followees = ids
          })
        ).toBe(true)
        expect(followees.sort()).toEqual([star, fans[1]!].sort())
        expect(await h.follows.syncFollowees('999999999', async () => {})).toBe(false)
      })
    })

    describe('through the use cases (src/domain/social), with slow, jittery Redis writes', () => {
      it('10 rounds of 15 concurrent like/unlike of one pair: the index equals Postgres after each', async () => {
        const likeIndex = new MemoryLikeIndex()
        const background: Promise<unknown>[] = []
        const deps = {
          clock: new ManualClock(T0),
          queue: {
            publish: () => Promise.reject(new Error('unused')),
            publishBatch: () => Promise.reject(new Error('unused')),
          },
          blogs: h.blogs,
          likeIndex: {
            put: async (blogId: string, userId: string, atMs: number | null) => {
              await jitter()
              await likeIndex.put(blogId, userId, atMs)
            },
            likedBy: likeIndex.likedBy.bind(likeIndex),
            earliest: likeIndex.earliest.bind(likeIndex),
            count: likeIndex.count.bind(likeIndex),
            replace: likeIndex.replace.bind(likeIndex),
          },
          profiles: h.profiles,
          background: (work: Promise<unknown>) => void background.push(work),
        }
        const blog = await h.blogs.create(newBlog(await h.user()))
        const me = await h.user()
        // Only the last writes of a round decide its end state, so check after every round.
        for (let round = 0; round < 10; round++) {
          await Promise.all(
            Array.from({ length: 15 }, (_, i) => setLike(deps, blog.id, me, (i + round) % 2 === 0))
          )
          await Promise.all(background)
          let truth: LikeState | undefined
          await h.blogs.syncLike(blog.id, me, async (s) => {
            truth = s
          })
          expect(await likeIndex.earliest(blog.id, 10), `round ${round}`).toEqual(
            truth?.liked ? [{ userId: me, atMs: truth.atMs }] : []
          )
          expect((await h.blogs.findById(blog.id))?.likes).toBe(truth?.liked ? 1 : 0)
        }
      })

      it('10 rounds of 10 concurrent follow/unfollow of one pair: the set equals Postgres after each', async () => {
        const followIndex = new MemoryFollowIndex()
        const deps = {
          clock: new ManualClock(T0),
          follows: h.follows,
          followIndex: {
            put: async (followerId: string, followeeId: string, following: boolean) => {
              await jitter()
              await followIndex.put(followerId, followeeId, following)
            },
            common: followIndex.common.bind(followIndex),
            replace: followIndex.replace.bind(followIndex),
          },
          profiles: h.profiles,
          background: () => {},
        }
        const [me, them, other] = [await h.user(), await h.user(), await h.user()]
        await setFollow(deps, me, other, true)
        for (let round = 0; round < 10; round++) {
          await Promise.all(
            Array.from({ length: 10 }, (_, i) => setFollow(deps, me, them, (i + round) % 2 === 0))
          )
          const expected = (await h.follows.isFollowing(me, them)) ? [other, them] : [other]
          expect((await followIndex.common(me, me)).ids.sort(), `round ${round}`).toEqual(
            expected.sort()
          )
        }
      })

      it('a transaction that fails after the Redis write: the follower’s set is re-synced from Postgres', async () => {
        const followIndex = new MemoryFollowIndex()
        const background: Promise<unknown>[] = []
        let failAfterApply = false
        const deps = {
          clock: new ManualClock(T0),
          // The transaction fails after `apply` wrote Redis (e.g. the commit is lost).
          follows: Object.assign(Object.create(null), {
            setFollow: (...[a, b, follow, at, apply]: Parameters<FollowRepository['setFollow']>) =>
              h.follows.setFollow(a, b, follow, at, async (following) => {
                await apply(following)
                if (failAfterApply) throw new Error('injected: the commit failed')
              }),
            syncFollowees: h.follows.syncFollowees.bind(h.follows),
          }) as FollowRepository,
          followIndex,
          profiles: h.profiles,
          background: (work: Promise<unknown>) => void background.push(work),
        }
        const [me, them, other] = [await h.user(), await h.user(), await h.user()]
        await setFollow(deps, me, other, true)
        failAfterApply = true
        await expect(setFollow(deps, me, them, true)).rejects.toThrow('injected')
        await Promise.all(background)
        expect(await h.follows.isFollowing(me, them)).toBe(false)
        expect((await followIndex.common(me, me)).ids).toEqual([other])
      })
    })
  })
}
