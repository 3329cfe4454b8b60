import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { Deps } from '../src/app/deps.ts'
import { appJobs } from '../src/app/modules.ts'
import type { Queue } from '../src/domain/ports/queue.ts'
import { FEED_FANOUT_TOPIC } from '../src/domain/social/feed.ts'
import { appKinds, startTestApp, type TestApp, tcpAppKinds } from './harness/app.ts'
import { type DirectRedis, directRedis } from './harness/redis.ts'

const DAY = 86_400_000
const ADMIN = 'social-admin-token-0123456789'
let seq = 0
/** A fresh valid mainland mobile number per call (distinct across files and runs). */
const phone = () =>
  `137${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`

interface Login {
  token: string
  id: string
}

/** Shared by both kinds: the fan-out publish fails while this is set (tests the sweep). */
let failFanout = false

// Memory, the REST/WebSocket stand-ins, and Redis + Postgres over TCP (one Redis, and the cluster).
const kinds = [...appKinds(inject('services')), ...tcpAppKinds(inject('services'))]
describe.each(kinds)('social features over HTTP [%s]', (kind) => {
  let app: TestApp
  let deps: Deps
  let direct: DirectRedis | undefined
  let shopId: string

  const login = async (): Promise<Login> => {
    const p = phone()
    const code = await app.fetch('/auth/code', { method: 'POST', json: { phone: p } })
    const { devCode } = await code.json()
    const res = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: devCode },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    return { token: body.token, id: body.user.id }
  }
  const call = async (
    method: string,
    path: string,
    who?: Login | null,
    json?: unknown,
    headers?: Record<string, string>
  ) => {
    const res = await app.fetch(path, {
      method,
      ...(who ? { token: who.token } : {}),
      ...(json !== undefined ? { json } : {}),
      ...(headers ? { headers } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null }
  }
  const post = async (who: Login, title: string) => {
    const r = await call('POST', '/blogs', who, { shopId, title, content: `about ${title}` })
    expect(r.status).toBe(201)
    return r.body as { id: string; createdAt: string }
  }
  const readFeed = async (who: Login, limit: number) => {
    const ids: string[] = []
    let cursor: string | null = null
    for (let page = 0; page < 50; page++) {
      const q: string = cursor ? `&cursor=${cursor}` : ''
      const r = await call('GET', `/feed?limit=${limit}${q}`, who)
      expect(r.status).toBe(200)
      ids.push(...r.body.items.map((b: { id: string }) => b.id))
      cursor = r.body.nextCursor
      if (!cursor) return ids
    }
    throw new Error('feed did not end')
  }

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SESSION_TTL: '1000d',
        FEED_INBOX_MAX: '8',
        FEED_FANOUT_BATCH: '2',
      },
      decorate: {
        queue: (queue: Queue): Queue => ({
          publish(topic, body, opts) {
            if (failFanout && topic === FEED_FANOUT_TOPIC) {
              return Promise.reject(new Error('queue down (test)'))
            }
            return queue.publish(topic, body, opts)
          },
          publishBatch: (items) => queue.publishBatch(items),
        }),
      },
    })
    deps = await app.deps()
    if (kind === 'real') direct = await directRedis()
    const types = await call('GET', '/shop-types')
    const shops = await call(
      'GET',
      `/shops?typeId=${types.body.items?.[0]?.id ?? types.body[0].id}`
    )
    shopId = shops.body.items[0].id
  })
  afterAll(async () => {
    await direct?.quit()
    await app?.close()
  })

  it('documents every social route in /openapi.json, with its security scheme', async () => {
    const doc = await (await app.fetch('/openapi.json')).json()
    const routes: [string, string][] = [
      ['/blogs', 'post'],
      ['/blogs/hot', 'get'],
      ['/blogs/{id}', 'get'],
      ['/blogs/{id}/like', 'put'],
      ['/blogs/{id}/like', 'delete'],
      ['/blogs/{id}/likes', 'get'],
      ['/users/{id}/blogs', 'get'],
      ['/users/{id}/follow', 'put'],
      ['/users/{id}/follow', 'delete'],
      ['/users/{id}/follow', 'get'],
      ['/users/{id}/common-follows', 'get'],
      ['/users/{id}/follow-counts', 'get'],
      ['/feed', 'get'],
      ['/users/me/sign', 'post'],
      ['/users/me/sign', 'get'],
      ['/users/me/sign/streak', 'get'],
      ['/stats/uv', 'get'],
      ['/admin/social/follows/{userId}/rebuild', 'post'],
      ['/admin/social/blogs/{id}/likes/rebuild', 'post'],
      ['/admin/social/feed/sweep', 'post'],
    ]
    for (const [path, method] of routes) {
      expect(doc.paths[path]?.[method], `${method} ${path}`).toBeDefined()
    }
    expect(doc.paths['/feed'].get.security).toEqual([{ bearerAuth: [] }])
    expect(doc.paths['/stats/uv'].get.security).toEqual([{ adminBearer: [] }])
    expect(doc.components.securitySchemes.adminBearer).toBeDefined()
  })

  describe('blogs', () => {
    it('publishes, reads, lists by author and validates input (naming fields)', async () => {
      const author = await login()
      const images = Array.from({ length: 9 }, (_, i) => `/imgs/${i}.jpg`)
      const created = await call('POST', '/blogs', author, {
        shopId,
        title: ' Ramen ',
        content: '好吃',
        images,
      })
      expect(created.status).toBe(201)
      expect(created.body).toMatchObject({
        title: 'Ramen',
        content: '好吃',
        images,
        shopId,
        likes: 0,
        likedByMe: false,
        author: { id: author.id },
        createdAt: new Date(app.clock.now()).toISOString(),
      })
      const id = created.body.id
      expect((await call('GET', `/blogs/${id}`)).body).toEqual(created.body)
      const mine = await call('GET', `/users/${author.id}/blogs?page=1&size=5`)
      expect(mine.body.items.map((b: { id: string }) => b.id)).toEqual([id])

      const tooMany = await call('POST', '/blogs', author, {
        shopId,
        title: 't',
        content: 'c',
        images: [...images, '/10.jpg'],
      })
      expect(tooMany.status).toBe(400)
      expect(tooMany.body.errors[0].path).toBe('json.images')
      const noShop = await call('POST', '/blogs', author, {
        shopId: '999999999',
        title: 't',
        content: 'c',
      })
      expect(noShop.status).toBe(400)
      expect(noShop.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'shopId' })
      const badImage = await call('POST', '/blogs', author, {
        shopId,
        title: 't',
        content: 'c',
        images: ['javascript:alert(1)'],
      })
      expect(badImage.body.errors[0].path).toBe('json.images.0')
      expect(
        (await call('POST', '/blogs', null, { shopId, title: 't', content: 'c' })).status
      ).toBe(401)
      expect((await call('GET', '/blogs/999999999')).body.code).toBe('BLOG_NOT_FOUND')
      expect((await call('GET', '/blogs/abc')).status).toBe(400)
      expect((await call('GET', '/users/999999999/blogs')).body.code).toBe('USER_NOT_FOUND')
    })

    it('likes and unlikes idempotently; the 5 earliest likers come in like order', async () => {
      const blog = await post(await login(), 'likeable')
      const fans: Login[] = []
      for (let i = 0; i < 7; i++) fans.push(await login())
      for (const fan of fans) {
        await app.clock.advance(1000)
        const r = await call('PUT', `/blogs/${blog.id}/like`, fan)
        expect(r.body).toMatchObject({ liked: true, changed: true })
      }
      const again = await call('PUT', `/blogs/${blog.id}/like`, fans[0])
      expect(again.body).toEqual({ liked: true, likes: 7, changed: false })
      const likers = await call('GET', `/blogs/${blog.id}/likes`)
      expect(likers.body.items.map((u: { id: string }) => u.id)).toEqual(
        fans.slice(0, 5).map((f) => f.id)
      )
      expect((await call('GET', `/blogs/${blog.id}`, fans[1])).body).toMatchObject({
        likes: 7,
        likedByMe: true,
      })
      expect((await call('DELETE', `/blogs/${blog.id}/like`, fans[1])).body).toEqual({
        liked: false,
        likes: 6,
        changed: true,
      })
      expect((await call('DELETE', `/blogs/${blog.id}/like`, fans[1])).body).toEqual({
        liked: false,
        likes: 6,
        changed: false,
      })
      const after = await call('GET', `/blogs/${blog.id}/likes`)
      expect(after.body.items.map((u: { id: string }) => u.id)).toEqual(
        [fans[0], ...fans.slice(2, 6)].map((f) => f!.id)
      )
      expect((await call('GET', `/blogs/${blog.id}`, fans[1])).body.likedByMe).toBe(false)
      expect((await call('PUT', '/blogs/999999999/like', fans[0])).body.code).toBe('BLOG_NOT_FOUND')
      expect((await call('GET', '/blogs/999999999/likes')).status).toBe(404)

      const hot = await call('GET', '/blogs/hot?page=1&size=50', fans[0])
      const top = hot.body.items[0]
      expect(top).toMatchObject({ id: blog.id, likes: 6, likedByMe: true })
    })

    it('200 concurrent like/unlike toggles by one user leave Postgres and Redis consistent', async () => {
      const blog = await post(await login(), 'contested')
      const others = [await login(), await login(), await login()]
      for (const o of others) await call('PUT', `/blogs/${blog.id}/like`, o)
      const me = await login()
      const results = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          call((i * 7919) % 3 === 0 ? 'DELETE' : 'PUT', `/blogs/${blog.id}/like`, me)
        )
      )
      expect(results.every((r) => r.status === 200)).toBe(true)
      // Postgres: the counter equals the like rows.
      let rows: { userId: string; atMs: number }[] = []
      await deps.blogs.syncLikers(blog.id, async (l) => {
        rows = l
      })
      const counter = (await deps.blogs.findById(blog.id))!.likes
      expect(counter).toBe(rows.length)
      const iLike = rows.some((r) => r.userId === me.id)
      expect(rows.length).toBe(others.length + (iLike ? 1 : 0))
      // Redis: the ZSET holds exactly those likers, with their like times.
      expect(await deps.likeIndex.count(blog.id)).toBe(rows.length)
      expect(await deps.likeIndex.earliest(blog.id, 100)).toEqual(
        [...rows].sort((a, b) => a.atMs - b.atMs || (a.userId < b.userId ? -1 : 1))
      )
      expect(await deps.likeIndex.likedBy([blog.id], me.id)).toEqual([iLike])
      if (direct) {
        const key = `${app.prefix}blog:liked:{${blog.id}}`
        expect(await direct.zCard(key)).toBe(rows.length)
        expect((await direct.zScore(key, me.id)) !== null).toBe(iLike)
      }
      // And the API agrees with both.
      const view = await call('GET', `/blogs/${blog.id}`, me)
      expect(view.body).toMatchObject({ likes: rows.length, likedByMe: iLike })
    })

    it('rebuilds a likers ZSET from Postgres (admin)', async () => {
      const blog = await post(await login(), 'rebuild me')
      const fans = [await login(), await login()]
      for (const f of fans) await call('PUT', `/blogs/${blog.id}/like`, f)
      await deps.likeIndex.replace(blog.id, []) // Redis lost it
      expect((await call('GET', `/blogs/${blog.id}/likes`)).body.items).toEqual([])
      const denied = await call('POST', `/admin/social/blogs/${blog.id}/likes/rebuild`, fans[0])
      expect(denied.status).toBe(401)
      const rebuilt = await call('POST', `/admin/social/blogs/${blog.id}/likes/rebuild`, {
        token: ADMIN,
        id: '',
      })
      expect(rebuilt.body).toEqual({ rebuilt: 2 })
      expect((await call('GET', `/blogs/${blog.id}/likes`)).body.items).toHaveLength(2)
    })
  })

  describe('follows', () => {
    it('follows, unfollows, reports state and counts; refuses self and unknown users', async () => {
      const [me, them] = [await login(), await login()]
      expect((await call('PUT', `/users/${them.id}/follow`, me)).body).toEqual({
        following: true,
        changed: true,
      })
      expect((await call('PUT', `/users/${them.id}/follow`, me)).body.changed).toBe(false)
      expect((await call('GET', `/users/${them.id}/follow`, me)).body).toEqual({ following: true })
      expect((await call('GET', `/users/${me.id}/follow`, them)).body).toEqual({ following: false })
      expect((await call('GET', `/users/${them.id}/follow-counts`)).body).toEqual({
        followers: 1,
        followees: 0,
      })
      expect((await call('DELETE', `/users/${them.id}/follow`, me)).body).toEqual({
        following: false,
        changed: true,
      })
      expect((await call('GET', `/users/${them.id}/follow-counts`)).body.followers).toBe(0)
      const self = await call('PUT', `/users/${me.id}/follow`, me)
      expect(self).toMatchObject({ status: 400, body: { code: 'CANNOT_FOLLOW_SELF' } })
      expect((await call('PUT', '/users/999999999/follow', me)).body.code).toBe('USER_NOT_FOUND')
      expect((await call('GET', '/users/999999999/follow-counts')).status).toBe(404)
      expect((await call('PUT', `/users/${them.id}/follow`, null)).status).toBe(401)
    })

    it('50 concurrent follows of one user make exactly one follow', async () => {
      const [me, them] = [await login(), await login()]
      const results = await Promise.all(
        Array.from({ length: 50 }, () => call('PUT', `/users/${them.id}/follow`, me))
      )
      expect(results.every((r) => r.status === 200 && r.body.following)).toBe(true)
      expect(results.filter((r) => r.body.changed)).toHaveLength(1)
      expect(await deps.follows.counts(them.id)).toEqual({ followers: 1, followees: 0 })
      expect(await deps.follows.followers(them.id, null, 100)).toEqual([me.id])
    })

    it('lists common follows (SINTER), rebuilding a lost set from Postgres', async () => {
      const [a, b, x, y, z, w] = await Promise.all(Array.from({ length: 6 }, () => login()))
      for (const t of [x, y, z]) await call('PUT', `/users/${t!.id}/follow`, a)
      for (const t of [y, z, w]) await call('PUT', `/users/${t!.id}/follow`, b)
      const ids = (r: { body: { items: { id: string }[] } }) => r.body.items.map((u) => u.id)
      const expected = [y!.id, z!.id].sort((p, q) => (BigInt(p) < BigInt(q) ? -1 : 1))
      expect(ids(await call('GET', `/users/${b!.id}/common-follows`, a))).toEqual(expected)
      // Redis loses a's set (flush, eviction, or it predates this feature): rebuilt on demand.
      if (direct) await direct.del(`${app.prefix}follows:{${a!.id}}`)
      else await deps.followIndex.replace(a!.id, [])
      expect(ids(await call('GET', `/users/${b!.id}/common-follows`, a))).toEqual(expected)
      if (direct) expect(await direct.sCard(`${app.prefix}follows:{${a!.id}}`)).toBe(3)
      const admin = { token: ADMIN, id: '' }
      expect((await call('POST', `/admin/social/follows/${a!.id}/rebuild`, admin)).body).toEqual({
        rebuilt: 3,
      })
      expect((await call('POST', '/admin/social/follows/999999999/rebuild', admin)).status).toBe(
        404
      )
      expect(ids(await call('GET', `/users/${w!.id}/common-follows`, a))).toEqual([])
    })
  })

  describe('feed', () => {
    it('pages inbox scores 6 5 5 5 5 3 exactly once with page size 2 (and 1, 3, 4, 7)', async () => {
      const [author, reader] = [await login(), await login()]
      await call('PUT', `/users/${author.id}/follow`, reader)
      const t0 = app.clock.now()
      await app.clock.set(t0 + 3000)
      const b3 = await post(author, 'score 3')
      await app.clock.set(t0 + 5000)
      const fives = [] as { id: string }[]
      for (let i = 0; i < 4; i++) fives.push(await post(author, `score 5 #${i}`))
      await app.clock.set(t0 + 6000)
      const b6 = await post(author, 'score 6')
      await app.settle()
      const inbox = await deps.inbox.range(reader.id, { max: null, offset: 0, limit: 100 })
      expect(inbox.map((e) => e.score - t0)).toEqual([6000, 5000, 5000, 5000, 5000, 3000])
      const byId = (p: string, q: string) => (p < q ? 1 : -1) // equal scores: id descending
      const expected = [b6.id, ...fives.map((b) => b.id).sort(byId), b3.id]
      for (const size of [2, 1, 3, 4, 7]) {
        expect(await readFeed(reader, size), `page size ${size}`).toEqual(expected)
      }
      const first = await call('GET', '/feed?limit=2', reader)
      expect(first.body.items[0]).toMatchObject({ id: b6.id, title: 'score 6', likedByMe: false })
      expect((await call('GET', '/feed?cursor=bogus', reader)).body).toMatchObject({
        code: 'VALIDATION_FAILED',
        field: 'cursor',
      })
      expect((await call('GET', '/feed?limit=51', reader)).status).toBe(400)
    })

    it('fans out to many followers in batches and trims inboxes to FEED_INBOX_MAX', async () => {
      const author = await login()
      const readers = await Promise.all(Array.from({ length: 5 }, () => login()))
      for (const r of readers) await call('PUT', `/users/${author.id}/follow`, r)
      const posted: string[] = []
      for (let i = 0; i < 10; i++) {
        await app.clock.advance(1000)
        posted.push((await post(author, `post ${i}`)).id)
      }
      await app.settle()
      const newest8 = posted.slice(2).reverse()
      for (const r of readers) expect(await readFeed(r, 3)).toEqual(newest8)
    })

    it('a failed hand-off to the queue is re-queued by the sweep (outbox flag)', async () => {
      const [author, reader] = [await login(), await login()]
      await call('PUT', `/users/${author.id}/follow`, reader)
      failFanout = true
      const blog = await post(author, 'queue was down')
      await app.settle()
      failFanout = false
      expect(await readFeed(reader, 5)).toEqual([])
      expect((await deps.blogs.pendingFanout(app.clock.now(), 100)).map((b) => b.id)).toContain(
        blog.id
      )
      const admin = { token: ADMIN, id: '' }
      expect((await call('POST', '/admin/social/feed/sweep', admin)).body.queued).toBe(0) // too fresh
      await app.clock.advance(61_000)
      expect((await call('POST', '/admin/social/feed/sweep', admin)).body.queued).toBe(1)
      await app.settle()
      expect(await readFeed(reader, 5)).toEqual([blog.id])
      expect((await deps.blogs.pendingFanout(app.clock.now(), 100)).map((b) => b.id)).not.toContain(
        blog.id
      )
      // The periodic job does the same.
      failFanout = true
      const second = await post(author, 'queue was down again')
      await app.settle()
      failFanout = false
      await app.clock.advance(61_000)
      const job = appJobs.find((j) => j.name === 'feed-fanout-sweep')!
      expect(await job.run(deps)).toBe(1)
      await app.settle()
      expect(await readFeed(reader, 5)).toEqual([second.id, blog.id])
    })
  })

  describe('sign-in', () => {
    it('counts a streak across a month boundary and shows the calendar', async () => {
      const me = await login()
      const now = new Date(app.clock.now())
      // Noon on the last day of next month, then the day before it and the 1st after it.
      const last = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 2, 0, 12)
      const lastDay = new Date(last)
      const month = `${lastDay.getUTCFullYear()}-${String(lastDay.getUTCMonth() + 1).padStart(2, '0')}`
      await app.clock.set(last - DAY)
      expect((await call('POST', '/users/me/sign', me)).body.alreadySigned).toBe(false)
      await app.clock.set(last)
      await call('POST', '/users/me/sign', me)
      expect((await call('POST', '/users/me/sign', me)).body).toEqual({
        date: lastDay.toISOString().slice(0, 10),
        alreadySigned: true,
      })
      await app.clock.set(last + DAY)
      const first = await call('POST', '/users/me/sign', me)
      expect(first.body.date).toBe(new Date(last + DAY).toISOString().slice(0, 10))
      expect(first.body.date.endsWith('-01')).toBe(true)
      expect((await call('GET', '/users/me/sign/streak', me)).body).toEqual({
        today: first.body.date,
        signedToday: true,
        streak: 3,
        capped: false,
      })
      const cal = await call('GET', `/users/me/sign?month=${month}`, me)
      expect(cal.body).toEqual({
        month,
        days: [lastDay.getUTCDate() - 1, lastDay.getUTCDate()],
        count: 2,
      })
      expect((await call('GET', '/users/me/sign', me)).body.days).toEqual([1])
      expect((await call('GET', '/users/me/sign?month=2026-13', me)).body.errors[0].path).toBe(
        'query.month'
      )
      await app.clock.advance(DAY)
      expect((await call('GET', '/users/me/sign/streak', me)).body).toMatchObject({
        signedToday: false,
        streak: 0,
      })
      expect((await call('GET', '/users/me/sign/streak', null)).status).toBe(401)
      if (direct) {
        const key = `${app.prefix}sign:{${me.id}}:${month.replace('-', '')}`
        expect(await direct.getBit(key, lastDay.getUTCDate() - 1)).toBe(1)
      }
    })
  })

  describe('unique visitors', () => {
    it('counts distinct users and addresses of GET page views per day and over a range', async () => {
      const now = new Date(app.clock.now())
      const day1 = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 2, 1)
      const d1 = new Date(day1).toISOString().slice(0, 10)
      const d2 = new Date(day1 + DAY).toISOString().slice(0, 10)
      const user = await login()
      await app.clock.set(day1)
      const from = (ip: string) => ({ 'x-forwarded-for': `${ip}, 10.9.9.9` })
      for (const ip of ['203.0.113.1', '203.0.113.2', '203.0.113.1', '203.0.113.3']) {
        expect((await call('GET', `/shop-types`, null, undefined, from(ip))).status).toBe(200)
      }
      await call('GET', '/blogs/hot', user, undefined, from('203.0.113.1')) // counts as the user
      await call('GET', '/users/me', null, undefined, from('203.0.113.53')) // session call (401)
      await call('GET', '/users/me', user, undefined, from('203.0.113.54')) // session call
      await call('GET', '/health', null, undefined, from('203.0.113.50')) // not a page
      await call('GET', '/blogs/999999999', null, undefined, from('203.0.113.51')) // 404
      await call('POST', '/users/me/sign', user, undefined, from('203.0.113.52')) // not a GET
      await app.settle()
      await app.clock.set(day1 + DAY)
      await call('GET', '/shop-types', null, undefined, from('203.0.113.2'))
      await call('GET', '/shop-types', null, undefined, { 'cf-connecting-ip': '198.51.100.7' })
      await app.settle()
      const admin = { token: ADMIN, id: '' }
      const uv = await call('GET', `/stats/uv?from=${d1}&to=${d2}`, admin)
      expect(uv.body).toEqual({
        from: d1,
        to: d2,
        days: [
          { date: d1, visitors: 4 },
          { date: d2, visitors: 2 },
        ],
        total: 5,
      })
      expect((await call('GET', `/stats/uv?from=${d1}`, user)).status).toBe(401)
      const bad = await call('GET', `/stats/uv?from=${d2}&to=${d1}`, admin)
      expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', field: 'to' })
      if (direct)
        expect(await direct.pfCount(`${app.prefix}uv:{uv}:${d1.replaceAll('-', '')}`)).toBe(4)
    })
  })
})

describe('UV_TRACKING=off', () => {
  let app: TestApp
  beforeAll(async () => {
    // The real stack starts in half a second; the embedded one needs PGlite (seconds).
    const kind = appKinds(inject('services')).at(-1)!
    app = await startTestApp(kind, { env: { ADMIN_TOKEN: ADMIN, UV_TRACKING: 'off' } })
  })
  afterAll(() => app?.close())

  it('records nothing', async () => {
    await app.fetch('/health')
    await app.fetch('/shop-types', { headers: { 'x-forwarded-for': '203.0.113.9' } })
    await app.settle()
    const res = await app.fetch('/stats/uv', { token: ADMIN })
    expect((await res.json()).total).toBe(0)
  })
})
