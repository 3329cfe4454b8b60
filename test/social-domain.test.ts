import { describe, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryFeedInbox } from '../src/adapters/memory/feed.ts'
import { MemoryLikeIndex } from '../src/adapters/memory/likes.ts'
import { MemorySignInCalendar } from '../src/adapters/memory/signins.ts'
import { MemoryVisitorCounter } from '../src/adapters/memory/visitors.ts'
import type { Blog, BlogRepository } from '../src/domain/ports/blogs.ts'
import type { FeedEntry } from '../src/domain/ports/feed.ts'
import type { FollowRepository } from '../src/domain/ports/follows.ts'
import type { PublishOptions, Queue } from '../src/domain/ports/queue.ts'
import type { VisitorCounter } from '../src/domain/ports/visitors.ts'
import {
  civilDate,
  dayKey,
  daysInMonth,
  isoDate,
  parseIsoDate,
  parseIsoMonth,
} from '../src/domain/social/calendar.ts'
import { decodeCursor, encodeCursor, nextCursor } from '../src/domain/social/cursor.ts'
import {
  type FanoutMessage,
  FEED_FANOUT_TOPIC,
  fanOut,
  readFeed,
} from '../src/domain/social/feed.ts'
import type { SocialPolicy } from '../src/domain/social/policy.ts'
import {
  runBackFrom,
  STREAK_MAX_MONTHS,
  signIn,
  signInCalendar,
  signInStreak,
} from '../src/domain/social/signin.ts'
import { DedupingVisitorCounter, uniqueVisitors, visitorOf } from '../src/domain/social/visitors.ts'

const DAY = 86_400_000

describe('feed cursor', () => {
  it('round-trips opaquely (base64url) and rejects anything it did not make', () => {
    const c = { score: 1_767_225_600_123, seen: 3, last: '9007199254740993' }
    const text = encodeCursor(c)
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(decodeCursor(text)).toEqual(c)
    const forged = (o: unknown) => btoa(JSON.stringify(o)).replaceAll('=', '')
    for (const bad of [
      '',
      'not base64!',
      forged({ v: 2, s: 1, o: 1, m: '1' }),
      forged({ v: 1, s: 'x', o: 1, m: '1' }),
      forged({ v: 1, s: 1, o: 0, m: '1' }),
      forged({ v: 1, s: 1, o: 1.5, m: '1' }),
      forged({ v: 1, s: 1, o: 1, m: '01' }),
      forged([1, 2]),
      'x'.repeat(201),
    ]) {
      expect(decodeCursor(bad), bad).toBeNull()
    }
  })

  it('applies the corrected rule of anchor §4 item 17 (scores 6 5 5 5 5 3, pages of 2)', () => {
    const e = (blogId: string, score: number): FeedEntry => ({ blogId, score })
    // req1 → [6,5]: one 5 seen.
    const c1 = nextCursor([e('a', 6), e('b', 5)], null, 0)!
    expect(c1).toEqual({ score: 5, seen: 1, last: 'b' })
    // req2 (max=5, offset=1) → [5,5]: three 5's seen now (os 2 + offset 1), not 2 as in the original.
    const c2 = nextCursor([e('c', 5), e('d', 5)], c1, c1.seen)!
    expect(c2).toEqual({ score: 5, seen: 3, last: 'd' })
    // req3 (max=5, offset=3) → [5,3]: the score changed, so only this page's 3's count.
    expect(nextCursor([e('e', 5), e('f', 3)], c2, c2.seen)).toEqual({
      score: 3,
      seen: 1,
      last: 'f',
    })
    expect(nextCursor([], c2, 3)).toBeNull()
  })
})

/** Blogs by id for the feed's lookups: just enough of BlogRepository. */
function blogStore(ids: readonly string[]) {
  const existing = new Set(ids)
  const blog = (id: string): Blog => ({
    id,
    author: { id: '1', nickname: 'a', icon: '' },
    shopId: '1',
    title: `blog ${id}`,
    content: '',
    images: [],
    likes: 0,
    createdAt: 0,
  })
  return {
    existing,
    repo: {
      findByIds: async (want: readonly string[]) => want.filter((id) => existing.has(id)).map(blog),
    } as unknown as BlogRepository,
  }
}

async function feedDeps(entries: [string, number][]) {
  const inbox = new MemoryFeedInbox()
  for (const [id, score] of entries) await inbox.push(['me'], id, score, 1000)
  const store = blogStore(entries.map(([id]) => id))
  const background: Promise<unknown>[] = []
  return {
    inbox,
    store,
    background,
    deps: {
      inbox,
      blogs: store.repo,
      likeIndex: new MemoryLikeIndex(),
      background: (w: Promise<unknown>) => void background.push(w),
    },
  }
}

async function readAll(deps: Parameters<typeof readFeed>[0], limit: number) {
  const seen: string[] = []
  let cursor: string | undefined
  for (let pages = 0; pages < 100; pages++) {
    const page = await readFeed(deps, 'me', cursor, limit)
    seen.push(...page.items.map((b) => b.id))
    if (!page.nextCursor) return seen
    cursor = page.nextCursor
  }
  throw new Error('the feed never ended')
}

describe('feed scroll pagination (memory inbox)', () => {
  const SCORES: [string, number][] = [
    ['16', 6],
    ['15', 5],
    ['14', 5],
    ['13', 5],
    ['12', 5],
    ['11', 3],
  ]

  it.each([1, 2, 3, 4, 5, 6, 7])(
    'pages of %i return every item exactly once, in order',
    async (n) => {
      const { deps } = await feedDeps(SCORES)
      expect(await readAll(deps, n)).toEqual(['16', '15', '14', '13', '12', '11'])
    }
  )

  it('the original offset rule serves the third 5 twice and then loops (why the rule matters)', async () => {
    const { inbox } = await feedDeps(SCORES)
    const served: string[] = []
    let max = Number.POSITIVE_INFINITY
    let offset = 0
    for (let i = 0; i < 4; i++) {
      const page = await inbox.range('me', { max, offset, limit: 2 })
      if (page.length === 0) break
      let minTime = 0
      let os = 1
      for (const e of page) {
        served.push(e.blogId)
        if (e.score === minTime) os++
        else {
          minTime = e.score
          os = 1
        }
      }
      max = minTime
      offset = os // the vendored official code: no adjustment
    }
    expect(served).toEqual(['16', '15', '14', '13', '13', '12', '13', '12'])
  })

  it('stays exact when an entry is added above the cursor between pages', async () => {
    const { deps, inbox, store } = await feedDeps(SCORES)
    const first = await readFeed(deps, 'me', undefined, 3) // 16, 15, 14
    // A late fan-out lands with the same score, ordered before the cursor's entry ('19' > '14').
    await inbox.push(['me'], '19', 5, 1000)
    store.existing.add('19')
    const rest = await readFeed(deps, 'me', first.nextCursor!, 10)
    expect([...first.items, ...rest.items].map((b) => b.id)).toEqual([
      '16',
      '15',
      '14',
      '13',
      '12',
      '11',
    ])
    expect(rest.nextCursor).toBeNull()
  })

  it('stays exact when the cursor’s own entry is removed between pages', async () => {
    const { deps, inbox } = await feedDeps(SCORES)
    const first = await readFeed(deps, 'me', undefined, 2) // 16, 15
    await inbox.remove('me', ['15', '16'])
    const rest = await readFeed(deps, 'me', first.nextCursor!, 2)
    expect(rest.items.map((b) => b.id)).toEqual(['14', '13'])
    expect((await readFeed(deps, 'me', rest.nextCursor!, 5)).items.map((b) => b.id)).toEqual([
      '12',
      '11',
    ])
  })

  it('skips blogs that no longer exist and drops them from the inbox in the background', async () => {
    const { deps, inbox, store, background } = await feedDeps(SCORES)
    store.existing.delete('14')
    const page = await readFeed(deps, 'me', undefined, 3)
    expect(page.items.map((b) => b.id)).toEqual(['16', '15'])
    await Promise.all(background)
    expect(
      (await inbox.range('me', { max: null, offset: 0, limit: 10 })).map((e) => e.blogId)
    ).toEqual(['16', '15', '13', '12', '11'])
    // The cursor still continues after the missing entry.
    expect((await readFeed(deps, 'me', page.nextCursor!, 10)).items.map((b) => b.id)).toEqual([
      '13',
      '12',
      '11',
    ])
  })

  it('rejects a forged cursor naming the field', async () => {
    const { deps } = await feedDeps(SCORES)
    await expect(readFeed(deps, 'me', 'garbage', 2)).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'cursor' },
    })
  })
})

describe('feed fan-out', () => {
  const policy = (fanoutBatch: number, fanoutBatchesPerMessage: number): SocialPolicy => ({
    timeZone: 'UTC',
    feed: { inboxMax: 3, fanoutBatch, fanoutBatchesPerMessage },
    uvTracking: true,
  })
  const followers = Array.from({ length: 7 }, (_, i) => String(100 + i))
  const follows = {
    async followers(_: string, after: string | null, limit: number) {
      return followers.filter((f) => after === null || f > after).slice(0, limit)
    },
  } as unknown as FollowRepository
  const queueSpy = () => {
    const published: { topic: string; body: unknown; opts?: PublishOptions }[] = []
    const queue: Queue = {
      async publish(topic, body, opts) {
        published.push({ topic, body, ...(opts ? { opts } : {}) })
        return { messageId: `m${published.length}`, deduplicated: false }
      },
      async publishBatch(items) {
        return Promise.all(items.map((it) => this.publish(it.topic, it.body, it.opts)))
      },
    }
    return { queue, published }
  }
  const message: FanoutMessage = { blogId: '9', authorId: '1', createdAt: 5000 }

  it('pushes to every follower in batches, idempotently, trimming inboxes', async () => {
    const inbox = new MemoryFeedInbox()
    const { queue, published } = queueSpy()
    for (const old of ['1', '2', '3']) await inbox.push(followers, old, Number(old), 3)
    const deps = { follows, inbox, queue, policy: policy(3, 10) }
    expect(await fanOut(deps, message)).toEqual({ pushed: 7, continued: false })
    expect(await fanOut(deps, message)).toEqual({ pushed: 7, continued: false }) // redelivery
    for (const f of followers) {
      expect(await inbox.range(f, { max: null, offset: 0, limit: 10 })).toEqual([
        { blogId: '9', score: 5000 },
        { blogId: '3', score: 3 },
        { blogId: '2', score: 2 },
      ])
    }
    expect(published).toEqual([])
  })

  it('hands the rest to a follow-up message after its share of batches', async () => {
    const inbox = new MemoryFeedInbox()
    const { queue, published } = queueSpy()
    const deps = { follows, inbox, queue, policy: policy(2, 2) }
    expect(await fanOut(deps, message)).toEqual({ pushed: 4, continued: true })
    expect(published).toEqual([
      {
        topic: FEED_FANOUT_TOPIC,
        body: { ...message, after: '103' },
        opts: { dedupId: 'fanout-9-103' },
      },
    ])
    expect(await fanOut(deps, published[0]!.body as FanoutMessage)).toEqual({
      pushed: 3,
      continued: false,
    })
    for (const f of followers) {
      expect(await inbox.range(f, { max: null, offset: 0, limit: 10 })).toHaveLength(1)
    }
  })
})

describe('calendar', () => {
  it('maps instants to days in the configured zone', () => {
    const t = Date.UTC(2026, 0, 31, 16, 30) // 2026-02-01 00:30 in Shanghai
    expect(isoDate(civilDate(t, 'UTC'))).toBe('2026-01-31')
    expect(isoDate(civilDate(t, 'Asia/Shanghai'))).toBe('2026-02-01')
    expect(isoDate(civilDate(Date.UTC(2026, 0, 1, 3), 'America/Los_Angeles'))).toBe('2025-12-31')
    expect(dayKey({ year: 2026, month: 3, day: 9 })).toBe('20260309')
    expect(daysInMonth({ year: 2024, month: 2 })).toBe(29)
    expect(daysInMonth({ year: 2026, month: 2 })).toBe(28)
    expect(parseIsoDate('2026-02-29')).toBeNull()
    expect(parseIsoDate('2024-02-29')).toEqual({ year: 2024, month: 2, day: 29 })
    expect(parseIsoMonth('2026-13')).toBeNull()
  })
})

describe('sign-in streaks', () => {
  const setup = (start: number, timeZone = 'UTC') => {
    const clock = new ManualClock(start)
    const signIns = new MemorySignInCalendar()
    let reads = 0
    const counted = {
      mark: signIns.mark.bind(signIns),
      months: (u: string, m: readonly string[]) => {
        reads++
        return signIns.months(u, m)
      },
    }
    return { clock, deps: { clock, signIns: counted, timeZone }, reads: () => reads }
  }

  it('counts runs back from a day within a month', () => {
    const mask = 0b1110_1111 // days 1-4 and 6-8
    expect(runBackFrom(mask, 8)).toBe(3)
    expect(runBackFrom(mask, 4)).toBe(4)
    expect(runBackFrom(mask, 5)).toBe(0)
    expect(runBackFrom(2 ** 31 - 1, 31)).toBe(31)
  })

  it('continues across a month boundary (Jan 30, Jan 31, Feb 1 → 3)', async () => {
    const { clock, deps } = setup(Date.UTC(2026, 0, 30, 12))
    await signIn(deps, 'u') // Jan 30
    await clock.advance(DAY)
    await signIn(deps, 'u')
    await clock.advance(DAY)
    expect(await signIn(deps, 'u')).toEqual({ date: '2026-02-01', alreadySigned: false })
    expect(await signIn(deps, 'u')).toEqual({ date: '2026-02-01', alreadySigned: true })
    expect(await signInStreak(deps, 'u')).toEqual({
      today: '2026-02-01',
      signedToday: true,
      streak: 3,
      capped: false,
    })
    expect(await signInCalendar(deps, 'u', { year: 2026, month: 1 })).toEqual({
      month: '2026-01',
      days: [30, 31],
      count: 2,
    })
    expect(await signInCalendar(deps, 'u')).toEqual({ month: '2026-02', days: [1], count: 1 })
    await clock.advance(DAY)
    expect((await signInStreak(deps, 'u')).streak).toBe(0) // Feb 2 not signed yet
  })

  it('a gap ends the streak; a year boundary does not', async () => {
    const { clock, deps } = setup(Date.UTC(2025, 11, 28, 23))
    await signIn(deps, 'u') // Dec 28
    await clock.advance(2 * DAY) // Dec 30 (29 skipped)
    for (let i = 0; i < 4; i++) {
      await signIn(deps, 'u') // Dec 30, Dec 31, Jan 1, Jan 2
      if (i < 3) await clock.advance(DAY)
    }
    expect(await signInStreak(deps, 'u')).toMatchObject({ today: '2026-01-02', streak: 4 })
  })

  it('counts a 400-day streak with one read for this month and one per 12 earlier months', async () => {
    const { clock, deps, reads } = setup(Date.UTC(2025, 0, 1, 10))
    for (let i = 0; i < 400; i++) {
      await signIn(deps, 'u')
      if (i < 399) await clock.advance(DAY)
    }
    const before = reads()
    expect(await signInStreak(deps, 'u')).toMatchObject({ streak: 400, capped: false })
    expect(reads() - before).toBe(3) // current month, then 12 + 12 months back
    expect(STREAK_MAX_MONTHS).toBe(121)
  })

  it('uses the configured time zone for "today"', async () => {
    const { deps } = setup(Date.UTC(2026, 0, 31, 16, 30), 'Asia/Shanghai')
    expect(await signIn(deps, 'u')).toEqual({ date: '2026-02-01', alreadySigned: false })
    expect(await signInCalendar(deps, 'u')).toMatchObject({ month: '2026-02', days: [1] })
  })
})

describe('unique visitors', () => {
  it('identifies users before addresses, and nobody without either', () => {
    expect(visitorOf('7', '10.0.0.1')).toBe('u:7')
    expect(visitorOf(null, '10.0.0.1')).toBe('ip:10.0.0.1')
    expect(visitorOf(null, null)).toBeNull()
  })

  it('writes each visitor once per day per instance; failures are retried; memory is bounded', async () => {
    const inner = new MemoryVisitorCounter()
    const calls: string[][] = []
    let fail = false
    const spy: VisitorCounter = {
      async record(day, visitors) {
        if (fail) throw new Error('redis down')
        calls.push([day, ...visitors])
        await inner.record(day, visitors)
      },
      count: (days) => inner.count(days),
    }
    const uv = new DedupingVisitorCounter(spy, 3)
    await uv.record('20260101', ['a', 'b', 'a'])
    await uv.record('20260101', ['a'])
    await uv.record('20260101', ['b', 'c'])
    await uv.record('20260102', ['a'])
    expect(calls).toEqual([
      ['20260101', 'a', 'b'],
      ['20260101', 'c'],
      ['20260102', 'a'],
    ])
    fail = true
    await expect(uv.record('20260102', ['d'])).rejects.toThrow('redis down')
    fail = false
    await uv.record('20260102', ['d']) // not marked as seen by the failed attempt
    expect(calls.at(-1)).toEqual(['20260102', 'd'])
    await uv.record('20260101', ['a']) // forgotten once the bound was hit: written again
    expect(calls.at(-1)).toEqual(['20260101', 'a'])
    expect(await uv.count(['20260101', '20260102'])).toEqual({ perDay: [3, 2], union: 4 })
  })

  it('validates the range: dates, order, and at most 366 days', async () => {
    const clock = new ManualClock(Date.UTC(2026, 2, 2, 12))
    const deps = { clock, visitors: new MemoryVisitorCounter(), timeZone: 'UTC' }
    await deps.visitors.record('20260301', ['a', 'b'])
    await deps.visitors.record('20260302', ['b', 'c'])
    expect(await uniqueVisitors(deps, '2026-03-01', '2026-03-02')).toEqual({
      from: '2026-03-01',
      to: '2026-03-02',
      days: [
        { date: '2026-03-01', visitors: 2 },
        { date: '2026-03-02', visitors: 2 },
      ],
      total: 3,
    })
    expect((await uniqueVisitors(deps)).days).toEqual([{ date: '2026-03-02', visitors: 2 }])
    expect((await uniqueVisitors(deps, '2026-03-01')).to).toBe('2026-03-01')
    const field = (p: Promise<unknown>) =>
      p.then(
        () => null,
        (e) => e.details.field
      )
    expect(await field(uniqueVisitors(deps, '2026-02-30'))).toBe('from')
    expect(await field(uniqueVisitors(deps, '2026-03-02', '2026-03-01'))).toBe('to')
    expect(await field(uniqueVisitors(deps, '2025-01-01', '2026-01-02'))).toBe('to')
    expect((await uniqueVisitors(deps, '2025-01-01', '2026-01-01')).days).toHaveLength(366)
  })
})
