import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DirectoryAssets } from '../src/adapters/system/file-assets.ts'
import { createApp } from '../src/app/app.ts'
import { loadConfig } from '../src/app/config.ts'
import type { Container, Deps } from '../src/app/deps.ts'
import { createLogger } from '../src/app/log.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { publishHold } from './harness/seckill.ts'
import { makeUsers, type TestUser } from './harness/users.ts'

/**
 * The hmdp-compatible surface (issue 12), called the way the course's pages call it: through
 * `common.js` (axios, baseURL `/api`, a bare `authorization: <token>` header, falsy query params
 * dropped by its paramsSerializer) and the course's nginx (`rewrite /api(/.*) $1 break;`).
 */

const ADMIN = 'hmdp-admin-token-0123456789'
const MIN = 60_000
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3, 4])

let seq = 0
/** A fresh valid mainland mobile number per call (distinct across files and runs). */
const phone = () =>
  `139${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`

interface Answer {
  status: number
  body: {
    success: boolean
    errorMsg: string | null
    // biome-ignore lint/suspicious/noExplicitAny: shapes are asserted field by field
    data: any
    total: number | null
    code?: string
  }
  headers: Headers
}

const keys = (o: object) => Object.keys(o).sort()
const USER_KEYS = ['icon', 'id', 'nickName']
const BLOG_KEYS = [
  'comments',
  'content',
  'createTime',
  'icon',
  'id',
  'images',
  'isLike',
  'liked',
  'name',
  'shopId',
  'title',
  'userId',
]
const SHOP_KEYS = [
  'address',
  'area',
  'avgPrice',
  'comments',
  'id',
  'images',
  'name',
  'openHours',
  'score',
  'sold',
  'typeId',
  'x',
  'y',
]
const VOUCHER_KEYS = [
  'actualValue',
  'beginTime',
  'endTime',
  'id',
  'payValue',
  'rules',
  'shopId',
  'status',
  'stock',
  'subTitle',
  'title',
  'type',
]
const DECIMAL = /^[1-9]\d*$/

describe.each(appKinds(inject('services')))('hmdp-compatible API [%s]', (kind) => {
  let app: TestApp
  let alice: TestUser
  let bob: TestUser
  let carol: TestUser
  let shopId: string

  /**
   * One call as the pages make it: `path` as the page writes it (axios prepends `/api`, nginx strips
   * it), the token in a bare `authorization` header, params serialised like common.js does.
   */
  const api = async (
    method: string,
    path: string,
    opts: {
      who?: TestUser | null
      params?: Record<string, unknown>
      json?: unknown
      body?: BodyInit
    } = {}
  ): Promise<Answer> => {
    let url = `/api${path}`
    if (opts.params) {
      let p = ''
      for (const [k, v] of Object.entries(opts.params)) if (v) p = `${p}&${k}=${v}`
      if (p) url += `?${p}`
    }
    const upstream = url.replace(/^\/api(\/.*)$/, '$1') // rewrite /api(/.*) $1 break;
    const headers = new Headers()
    if (opts.who) headers.set('authorization', opts.who.token)
    if (opts.json !== undefined) headers.set('content-type', 'application/json')
    const res = await fetch(`${app.url}${upstream}`, {
      method,
      headers,
      ...(opts.json !== undefined ? { body: JSON.stringify(opts.json) } : {}),
      ...(opts.body ? { body: opts.body } : {}),
    })
    const text = await res.text()
    return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers }
  }
  const success = (a: Answer) => {
    expect(a.status, JSON.stringify(a.body)).toBe(200)
    expect(a.body).toMatchObject({ success: true, errorMsg: null })
    expect(keys(a.body)).toEqual(['data', 'errorMsg', 'success', 'total'])
    return a.body.data
  }
  const refusal = (a: Answer, errorMsg: string, code?: string) => {
    expect(a.status, JSON.stringify(a.body)).toBe(200)
    expect(a.body).toMatchObject({ success: false, errorMsg, data: null, total: null })
    if (code) expect(a.body.code).toBe(code)
  }
  const upload = (who: TestUser | null, bytes: Uint8Array<ArrayBuffer>, filename = 'a.png') => {
    const form = new FormData()
    form.append('file', new Blob([bytes]), filename)
    return api('POST', '/upload/blog', { who, body: form })
  }
  const createSale = async (over: Record<string, unknown> = {}) => {
    const now = app.clock.now()
    const res = await app.fetch('/vouchers/seckill', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      json: {
        shopId,
        title: '100元代金券',
        subTitle: '周一至周日可用',
        rules: '全场通用',
        payValue: 8000,
        actualValue: 10000,
        stock: 1,
        beginAt: new Date(now - MIN).toISOString(),
        endAt: new Date(now + 60 * MIN).toISOString(),
        ...over,
      },
    })
    expect(res.status).toBe(201)
    return ((await res.json()) as { id: string }).id
  }
  const post = async (who: TestUser, title: string, images = '') =>
    success(
      await api('POST', '/blog', { who, json: { title, content: `关于${title}`, images, shopId } })
    )

  // Holds the queue's publishes while a test counts a purchase's own Redis requests.
  const publishes = publishHold()

  beforeAll(async () => {
    app = await startTestApp(kind, {
      decorate: publishes.decorate,
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SESSION_TTL: '1000d',
        UPLOAD_MAX_BYTES: '2048',
        SECKILL_USER_LIMIT: 'off',
      },
    })
    const users = await makeUsers(app, 3)
    ;[alice, bob, carol] = [users[0]!, users[1]!, users[2]!]
    const shops = success(await api('GET', '/shop/of/name', { params: { name: '茶餐厅' } }))
    shopId = shops[0].id
  })
  afterAll(() => app?.close())

  it('documents every call of the pages under its own tag in /openapi.json', async () => {
    const doc = await (await app.fetch('/openapi.json')).json()
    const calls: [string, string][] = [
      ['/shop-type/list', 'get'],
      ['/shop/{id}', 'get'],
      ['/shop/of/type', 'get'],
      ['/shop/of/name', 'get'],
      ['/voucher/list/{shopId}', 'get'],
      ['/voucher-order/seckill/{id}', 'post'],
      ['/user/code', 'post'],
      ['/user/login', 'post'],
      ['/user/logout', 'post'],
      ['/user/me', 'get'],
      ['/user/{id}', 'get'],
      ['/user/info/{id}', 'get'],
      ['/blog/hot', 'get'],
      ['/blog/{id}', 'get'],
      ['/blog/likes/{id}', 'get'],
      ['/blog/like/{id}', 'put'],
      ['/blog/of/me', 'get'],
      ['/blog/of/user', 'get'],
      ['/blog/of/follow', 'get'],
      ['/blog', 'post'],
      ['/follow/or/not/{id}', 'get'],
      ['/follow/{id}/{isFollow}', 'put'],
      ['/follow/common/{id}', 'get'],
      ['/upload/blog', 'post'],
      ['/upload/blog/delete', 'get'],
      ['/user/sign', 'post'],
      ['/user/sign/count', 'get'],
      ['/imgs/{name}', 'get'],
    ]
    for (const [path, method] of calls) {
      const op = doc.paths[path]?.[method]
      expect(op, `${method} ${path}`).toBeDefined()
      expect(op.tags).toEqual(['hmdp compatible'])
      expect(op.responses['200'], `${method} ${path}`).toBeDefined()
    }
    expect(doc.components.schemas.HmdpBlog.required).toEqual(expect.arrayContaining(BLOG_KEYS))
  })

  it('GET /shop-type/list: all types in display order; their icons are real images we serve', async () => {
    const types = success(await api('GET', '/shop-type/list'))
    expect(types).toHaveLength(10)
    expect(types.map((t: { sort: number }) => t.sort)).toEqual(
      [...types.map((t: { sort: number }) => t.sort)].sort((a, b) => a - b)
    )
    for (const t of types) {
      expect(keys(t)).toEqual(['icon', 'id', 'name', 'sort'])
      expect(t.id).toMatch(DECIMAL)
      // index.html: <img :src="'/imgs/' + t.icon">
      const img = await fetch(`${app.url}/imgs/${t.icon}`)
      expect(img.status, t.icon).toBe(200)
      expect(img.headers.get('content-type')).toBe('image/png')
      expect([...new Uint8Array(await img.arrayBuffer()).slice(0, 4)]).toEqual([
        0x89, 0x50, 0x4e, 0x47,
      ])
    }
  })

  it('GET /shop/{id}: the original shape (score ×10, images as a string) and its refusal', async () => {
    const shop = success(await api('GET', `/shop/${shopId}`))
    expect(keys(shop)).toEqual(SHOP_KEYS)
    expect(shop).toMatchObject({
      id: shopId,
      name: '103茶餐厅',
      score: 37,
      x: 120.149192,
      y: 30.316078,
    })
    expect(typeof shop.images).toBe('string')
    for (const src of shop.images.split(',')) {
      const img = await fetch(`${app.url}${src}`)
      expect(img.status, src).toBe(200)
      expect(img.headers.get('content-type')).toBe('image/svg+xml')
    }
    refusal(await api('GET', '/shop/99999999'), '店铺不存在！', 'SHOP_NOT_FOUND')
    const bad = await api('GET', '/shop/abc')
    expect(bad.status).toBe(400)
    expect(bad.body).toMatchObject({ success: false, code: 'VALIDATION_FAILED', data: null })
  })

  it('GET /shop/of/type: 5 per page, nearest first with distance in metres when x,y are given', async () => {
    const [food] = success(await api('GET', '/shop-type/list'))
    const at = { x: 120.149993, y: 30.334229 }
    const p1 = success(
      await api('GET', '/shop/of/type', { params: { typeId: food.id, current: 1, ...at } })
    )
    const p2 = success(
      await api('GET', '/shop/of/type', { params: { typeId: food.id, current: 2, ...at } })
    )
    expect(p1).toHaveLength(5)
    const all = [...p1, ...p2]
    for (const s of all) {
      expect(keys(s)).toEqual([...SHOP_KEYS, 'distance'].sort())
      expect(s.typeId).toBe(food.id)
      expect(s.distance).toBeLessThanOrEqual(5000)
    }
    const distances = all.map((s: { distance: number }) => s.distance)
    expect(distances).toEqual([...distances].sort((a, b) => a - b))
    expect(new Set(all.map((s: { id: string }) => s.id)).size).toBe(all.length)
    // Without a position: by id, no distance.
    const plain = success(await api('GET', '/shop/of/type', { params: { typeId: food.id } }))
    expect(plain).toHaveLength(5)
    expect(keys(plain[0])).toEqual(SHOP_KEYS)
  })

  it('GET /shop/of/name: contains the text; an empty name lists all (pages of 10)', async () => {
    const some = success(await api('GET', '/shop/of/name', { params: { name: 'KTV' } }))
    expect(some.length).toBeGreaterThan(0)
    for (const s of some) expect(s.name).toContain('KTV')
    // blog-edit.html: axios.get("/shop/of/name?name=" + this.shopName) with an empty name
    const p1 = success(await api('GET', '/shop/of/name?name='))
    const p2 = success(await api('GET', '/shop/of/name', { params: { current: 2 } }))
    expect(p1).toHaveLength(10)
    expect(p2).toHaveLength(10)
    expect(p1.map((s: { id: string }) => s.id)).not.toContain(p2[0].id)
  })

  it('POST /user/code and /user/login: refusals as messages, the token as data, then /user/me and logout', async () => {
    refusal(await api('POST', '/user/code', { params: { phone: '12345' } }), '手机号格式错误！')
    const p = phone()
    const code = success(await api('POST', `/user/code?phone=${p}`))
    expect(code).toMatch(/^\d{6}$/)
    refusal(await api('POST', `/user/code?phone=${p}`), '操作太频繁，请稍后再试', 'RATE_LIMITED')
    refusal(await api('POST', '/user/login', { json: { phone: 'x', code } }), '手机号格式错误！')
    const wrong = code === '000000' ? '111111' : '000000'
    refusal(
      await api('POST', '/user/login', { json: { phone: p, code: wrong } }),
      '验证码错误',
      'INVALID_CODE'
    )
    const token = success(await api('POST', '/user/login', { json: { phone: p, code } }))
    expect(typeof token).toBe('string')
    refusal(await api('POST', '/user/login', { json: { phone: p, code } }), '验证码错误')
    const who = { id: '', token }
    const me = success(await api('GET', '/user/me', { who }))
    expect(keys(me)).toEqual(USER_KEYS)
    expect(me.id).toMatch(DECIMAL)
    expect(me.nickName).toMatch(/^user_/)
    expect(success(await api('POST', '/user/logout', { who }))).toBeNull()
    const after = await api('GET', '/user/me', { who })
    expect(after.status).toBe(401)
    expect(after.body).toMatchObject({ success: false, errorMsg: '请先登录', code: 'UNAUTHORIZED' })
  })

  it('answers 401 in the envelope to every protected call without a session', async () => {
    const calls: [string, string][] = [
      ['POST', '/user/logout'],
      ['GET', '/user/me'],
      ['GET', `/user/${alice.id}`],
      ['GET', `/user/info/${alice.id}`],
      ['POST', '/user/sign'],
      ['GET', '/user/sign/count'],
      ['GET', '/blog/1'],
      ['GET', '/blog/likes/1'],
      ['PUT', '/blog/like/1'],
      ['GET', '/blog/of/me'],
      ['GET', `/blog/of/user?id=${alice.id}`],
      ['GET', '/blog/of/follow?lastId=1'],
      ['POST', '/blog'],
      ['GET', `/follow/or/not/${alice.id}`],
      ['PUT', `/follow/${alice.id}/true`],
      ['GET', `/follow/common/${alice.id}`],
      ['POST', '/voucher-order/seckill/1'],
      ['POST', '/upload/blog'],
      ['GET', '/upload/blog/delete?name=/blogs/1/1/x.png'],
    ]
    for (const [method, path] of calls) {
      for (const who of [null, { id: '0', token: 'not-a-session-token-xx' }]) {
        const a = await api(method, path, { who })
        expect(a.status, `${method} ${path}`).toBe(401)
        expect(a.body).toEqual({
          success: false,
          errorMsg: '请先登录',
          data: null,
          total: null,
          code: 'UNAUTHORIZED',
        })
      }
    }
  })

  it('GET /user/{id} and /user/info/{id}: profiles; null data for nobody', async () => {
    const u = success(await api('GET', `/user/${bob.id}`, { who: alice }))
    expect(u).toEqual({ id: bob.id, nickName: 'buyer', icon: '' })
    expect(success(await api('GET', '/user/99999999', { who: alice }))).toBeNull()
    const info = success(await api('GET', `/user/info/${bob.id}`, { who: alice }))
    expect(info).toEqual({
      userId: bob.id,
      city: null,
      introduce: null,
      fans: expect.any(Number),
      followee: expect.any(Number),
      gender: null,
      birthday: null,
      credits: 0,
      level: 0,
    })
    expect(success(await api('GET', '/user/info/99999999', { who: alice }))).toBeNull()
  })

  it('flash sale: vouchers flat with type 1; data is the order id; sold out and repeat buys are 200 refusals', async () => {
    const id = await createSale()
    const list = success(await api('GET', `/voucher/list/${shopId}`))
    const v = list.find((x: { id: string }) => x.id === id)
    expect(keys(v)).toEqual(VOUCHER_KEYS)
    expect(v).toMatchObject({
      shopId,
      type: 1,
      status: 1,
      stock: 1,
      payValue: 8000,
      actualValue: 10000,
    })
    expect(Date.parse(v.beginTime)).toBeLessThan(app.clock.now())
    const orderId = success(await api('POST', `/voucher-order/seckill/${id}`, { who: alice }))
    expect(orderId).toMatch(DECIMAL)
    expect(BigInt(orderId)).toBeGreaterThan(2n ** 53n)
    refusal(
      await api('POST', `/voucher-order/seckill/${id}`, { who: alice }),
      '不允许重复下单',
      'ALREADY_PURCHASED'
    )
    refusal(await api('POST', `/voucher-order/seckill/${id}`, { who: bob }), '库存不足', 'SOLD_OUT')
    await app.settle()
    const deps = await app.deps()
    expect(await deps.orders.findById(orderId)).toMatchObject({ userId: alice.id, voucherId: id })
    expect((await deps.vouchers.findById(id))!.seckill!.stock).toBe(0)

    const later = await createSale({
      beginAt: new Date(app.clock.now() + 10 * MIN).toISOString(),
      endAt: new Date(app.clock.now() + 20 * MIN).toISOString(),
    })
    refusal(
      await api('POST', `/voucher-order/seckill/${later}`, { who: bob }),
      '秒杀尚未开始！',
      'SALE_NOT_STARTED'
    )
    refusal(await api('POST', '/voucher-order/seckill/99999999', { who: bob }), '优惠券不存在')
  })

  it('blogs: post, read in the original shape; the like toggles (twice = unliked)', async () => {
    const id = await post(alice, '好吃的茶餐厅', '/imgs/blogs/1/2/a.jpg,/imgs/blogs/1/3/b.jpg')
    expect(id).toMatch(DECIMAL)
    const blog = success(await api('GET', `/blog/${id}`, { who: bob }))
    expect(keys(blog)).toEqual(BLOG_KEYS)
    expect(blog).toMatchObject({
      id,
      userId: alice.id,
      name: 'buyer',
      shopId,
      title: '好吃的茶餐厅',
      images: '/imgs/blogs/1/2/a.jpg,/imgs/blogs/1/3/b.jpg',
      liked: 0,
      isLike: false,
      comments: 0,
    })
    expect(Date.parse(blog.createTime)).toBe(app.clock.now())

    expect(success(await api('PUT', `/blog/like/${id}`, { who: bob }))).toEqual({
      isLike: true,
      liked: 1,
    })
    expect(success(await api('GET', `/blog/${id}`, { who: bob }))).toMatchObject({
      liked: 1,
      isLike: true,
    })
    expect(success(await api('GET', `/blog/likes/${id}`, { who: alice }))).toEqual([
      { id: bob.id, nickName: 'buyer', icon: '' },
    ])
    expect(success(await api('PUT', `/blog/like/${id}`, { who: bob }))).toEqual({
      isLike: false,
      liked: 0,
    })
    expect(success(await api('GET', `/blog/${id}`, { who: bob }))).toMatchObject({
      liked: 0,
      isLike: false,
    })
    expect(success(await api('GET', `/blog/likes/${id}`, { who: alice }))).toEqual([])
    expect(await (await app.deps()).blogs.findById(id)).toMatchObject({ likes: 0 })

    const hot = success(await api('GET', '/blog/hot', { params: { current: 1 } }))
    expect(hot.length).toBeLessThanOrEqual(10)
    expect(hot.map((b: { id: string }) => b.id)).toContain(id)
    expect(keys(hot[0])).toEqual(BLOG_KEYS)
    const mine = success(await api('GET', '/blog/of/me', { who: alice }))
    expect(mine[0].id).toBe(id)
    const theirs = success(
      await api('GET', '/blog/of/user', { who: bob, params: { id: alice.id, current: 1 } })
    )
    expect(theirs.map((b: { id: string }) => b.id)).toContain(id)
    refusal(
      await api('GET', '/blog/of/user', { who: bob, params: { id: '99999999' } }),
      '用户不存在！'
    )
    refusal(await api('GET', '/blog/99999999', { who: bob }), '笔记不存在！', 'BLOG_NOT_FOUND')
    refusal(await api('PUT', '/blog/like/99999999', { who: bob }), '笔记不存在！')
  })

  it('POST /blog: form mistakes are 200 refusals with a message', async () => {
    const base = { title: 't', content: 'c', images: '', shopId }
    const cases: [Record<string, unknown>, string][] = [
      [{ ...base, title: ' ' }, '标题不能为空（最多100字）'],
      [{ ...base, content: '' }, '内容不能为空（最多5000字）'],
      [{ ...base, shopId: undefined }, '请选择关联商户'],
      [{ ...base, shopId: '99999999' }, '商户不存在'],
      [
        { ...base, images: Array.from({ length: 10 }, (_, i) => `/imgs/${i}.jpg`).join(',') },
        '最多9张图片',
      ],
      [{ ...base, images: 'javascript:alert(1)' }, '图片地址无效'],
    ]
    for (const [json, msg] of cases)
      refusal(await api('POST', '/blog', { who: carol, json }), msg, 'VALIDATION_FAILED')
    const malformed = await fetch(`${app.url}/blog`, {
      method: 'POST',
      headers: { authorization: carol.token, 'content-type': 'application/json' },
      body: '{"title":',
    })
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ success: false, code: 'MALFORMED_JSON' })
  })

  it('follows: follow, check, common follows, unfollow; yourself is a refusal', async () => {
    expect(success(await api('PUT', `/follow/${carol.id}/true`, { who: alice }))).toBeNull()
    expect(success(await api('PUT', `/follow/${carol.id}/true`, { who: bob }))).toBeNull()
    expect(success(await api('GET', `/follow/or/not/${carol.id}`, { who: alice }))).toBe(true)
    expect(success(await api('GET', `/follow/common/${bob.id}`, { who: alice }))).toEqual([
      { id: carol.id, nickName: 'buyer', icon: '' },
    ])
    expect(success(await api('GET', `/user/info/${carol.id}`, { who: alice }))).toMatchObject({
      fans: 2,
    })
    expect(success(await api('PUT', `/follow/${carol.id}/false`, { who: bob }))).toBeNull()
    expect(success(await api('GET', `/follow/or/not/${carol.id}`, { who: bob }))).toBe(false)
    expect(success(await api('GET', `/follow/common/${bob.id}`, { who: alice }))).toEqual([])
    refusal(
      await api('PUT', `/follow/${alice.id}/true`, { who: alice }),
      '不能关注自己',
      'CANNOT_FOLLOW_SELF'
    )
    refusal(await api('PUT', '/follow/99999999/true', { who: alice }), '用户不存在！')
    expect((await api('PUT', `/follow/${carol.id}/maybe`, { who: alice })).status).toBe(400)
  })

  it('feed: scrolling like info.html over equal timestamps returns each blog once, newest first', async () => {
    const [author, reader] = await makeUsers(app, 2)
    success(await api('PUT', `/follow/${author!.id}/true`, { who: reader }))
    // Scores 6 5 5 5 5 3 (the anchor's worked example), made equal with the manual clock.
    const t = app.clock.now() + 1000
    const at = async (ms: number, title: string) => {
      await app.clock.set(ms)
      return post(author!, title)
    }
    const b3 = await at(t + 3, 'b3')
    const fives = [
      await at(t + 5, 'b5a'),
      await post(author!, 'b5b'),
      await post(author!, 'b5c'),
      await post(author!, 'b5d'),
    ]
    const b6 = await at(t + 6, 'b6')
    await app.settle()
    // Feed order: score desc, then blog id desc.
    const expected = [b6, ...[...fives].sort((a, b) => (BigInt(a) < BigInt(b) ? 1 : -1)), b3]

    for (const size of [2, 1, 3, 4, 10]) {
      // info.html: first {offset: 0, lastId: now + 1}, then {offset, lastId: minTime} from the answer.
      let params: { offset: number; minTime: number } = { offset: 0, minTime: app.clock.now() + 1 }
      const seen: string[] = []
      for (let page = 0; page < 20; page++) {
        const a = await api('GET', '/blog/of/follow', {
          who: reader,
          params: { offset: params.offset, lastId: params.minTime, size },
        })
        const data = success(a)
        if (!data) break
        expect(keys(data)).toEqual(['list', 'minTime', 'offset'])
        for (const b of data.list) expect(keys(b)).toEqual(BLOG_KEYS)
        seen.push(...data.list.map((b: { id: string }) => b.id))
        params = { offset: data.offset, minTime: data.minTime }
      }
      expect(seen, `page size ${size}`).toEqual(expected)
    }
    // The default page holds them all; the next call says "no more" with null data.
    const all = success(
      await api('GET', `/blog/of/follow?lastId=${app.clock.now() + 1}`, { who: reader })
    )
    expect(all.list.map((b: { id: string }) => b.id)).toEqual(expected)
    expect(all).toMatchObject({ minTime: t + 3, offset: 1 })
    expect(
      success(
        await api('GET', '/blog/of/follow', {
          who: reader,
          params: { lastId: all.minTime, offset: 1 },
        })
      )
    ).toBeNull()
  })

  it('sign-in: POST /user/sign, then GET /user/sign/count', async () => {
    const [u] = await makeUsers(app, 1)
    expect(success(await api('GET', '/user/sign/count', { who: u }))).toBe(0)
    expect(success(await api('POST', '/user/sign', { who: u }))).toBeNull()
    expect(success(await api('POST', '/user/sign', { who: u }))).toBeNull()
    expect(success(await api('GET', '/user/sign/count', { who: u }))).toBe(1)
  })

  it('uploads round-trip through /imgs; only the uploader deletes; type and size are checked', async () => {
    const name = success(await upload(alice, PNG, 'photo.jpg'))
    expect(name).toMatch(/^\/blogs\/(\d|1[0-5])\/(\d|1[0-5])\/[A-Za-z0-9_-]{22}\.png$/)
    // blog-edit.html shows '/imgs' + data
    const img = await fetch(`${app.url}/imgs${name}`)
    expect(img.status).toBe(200)
    expect(img.headers.get('content-type')).toBe('image/png')
    expect(img.headers.get('x-content-type-options')).toBe('nosniff')
    expect([...new Uint8Array(await img.arrayBuffer())]).toEqual([...PNG])
    // The page deletes with the '/imgs' + name it shows.
    refusal(
      await api('GET', '/upload/blog/delete', { who: bob, params: { name: `/imgs${name}` } }),
      '图片不存在',
      'NOT_FOUND'
    )
    expect((await fetch(`${app.url}/imgs${name}`)).status).toBe(200)
    refusal(
      await api('GET', '/upload/blog/delete', {
        who: alice,
        params: { name: '/blogs/../../etc/passwd' },
      }),
      '图片不存在'
    )
    expect(
      success(
        await api('GET', '/upload/blog/delete', { who: alice, params: { name: `/imgs${name}` } })
      )
    ).toBeNull()
    expect((await fetch(`${app.url}/imgs${name}`)).status).toBe(404)

    const svg = await upload(alice, new TextEncoder().encode('<svg onload="alert(1)"/>'), 'x.png')
    expect(svg.status).toBe(415)
    expect(svg.body).toMatchObject({ success: false, code: 'UNSUPPORTED_MEDIA_TYPE', data: null })
    const big = new Uint8Array(4096)
    big.set(PNG)
    const tooBig = await upload(alice, big)
    expect(tooBig.status).toBe(413)
    expect(tooBig.body).toMatchObject({
      success: false,
      code: 'PAYLOAD_TOO_LARGE',
      errorMsg: '图片太大（最大 2 KB）',
    })
    const huge = await upload(alice, new Uint8Array(200_000))
    expect(huge.status).toBe(413)
    expect(huge.body).toMatchObject({ success: false, code: 'PAYLOAD_TOO_LARGE' })
    const form = new FormData()
    form.append('other', 'x')
    const noFile = await api('POST', '/upload/blog', { who: alice, body: form })
    expect(noFile.status).toBe(400)
    expect(noFile.body).toMatchObject({ success: false, code: 'VALIDATION_FAILED' })
    const json = await api('POST', '/upload/blog', { who: alice, json: {} })
    expect(json.status).toBe(415)
    expect(json.body).toMatchObject({ success: false, code: 'UNSUPPORTED_MEDIA_TYPE' })
    expect((await fetch(`${app.url}/imgs/blogs/1/1/AAAAAAAAAAAAAAAAAAAAAA.png`)).status).toBe(404)
  })

  // The stand-in gateway can be suspended; the embedded app has no outage to simulate.
  if (kind === 'real') {
    it('a purchase costs at most 2 Redis HTTP round trips, like the native hot path', async () => {
      const id = await createSale({ stock: 10 })
      const buyers = await makeUsers(app, 4)
      const gateway = app.stack!.gateway
      success(await api('POST', `/voucher-order/seckill/${id}`, { who: buyers[0] })) // warm
      await app.settle()
      // No consumer may touch Redis while the purchase's own requests are counted.
      publishes.hold()
      for (const who of buyers.slice(1)) {
        gateway.resetStats()
        expect(success(await api('POST', `/voucher-order/seckill/${id}`, { who }))).toMatch(DECIMAL)
        expect(gateway.stats().requests).toBeLessThanOrEqual(2)
      }
      await publishes.release()
      await app.settle()
      expect(await (await app.deps()).orders.listByVoucher(id)).toHaveLength(4)
    })

    it('Redis down: protected calls and purchases answer 503 in the envelope and reserve nothing', async () => {
      const id = await createSale({ stock: 5 })
      await app.stack!.gateway.suspend()
      try {
        const calls: [string, string][] = [
          ['GET', '/user/me'],
          ['POST', `/voucher-order/seckill/${id}`],
          ['GET', '/blog/of/follow'],
        ]
        for (const [method, path] of calls) {
          const a = await api(method, path, { who: carol })
          expect(a.status, `${method} ${path}`).toBe(503)
          expect(a.body).toMatchObject({
            success: false,
            errorMsg: '服务繁忙，请稍后再试',
            data: null,
            code: 'DEPENDENCY_UNAVAILABLE',
          })
        }
      } finally {
        await app.stack!.gateway.resume()
      }
      const deps = await app.deps()
      expect((await deps.ledger.audit(id, false))?.stock).toBe(5)
      expect(success(await api('POST', `/voucher-order/seckill/${id}`, { who: carol }))).toMatch(
        DECIMAL
      )
    })
  }
})

describe('hmdp-compatible API switches', () => {
  /** The app over a stub container: only the mount is under test here (the suites above run it all). */
  const appWith = (env: Record<string, string>) => {
    const config = loadConfig({ APP_ENV: 'test', UV_TRACKING: 'off', ...env })
    const shops = { listTypes: async () => ({ value: [], source: 'db' as const }) }
    const deps = { config, shops } as unknown as Deps
    const container: Container = {
      config,
      log: createLogger('silent'),
      scope: async () => ({ deps, finish: async () => {} }),
      settle: async () => {},
      close: async () => {},
    }
    return createApp(container, { assets: new DirectoryAssets('public') })
  }
  const ctx = { waitUntil() {}, passThroughOnException() {}, props: {} }
  const get = (app: ReturnType<typeof createApp>, path: string) =>
    app.fetch(new Request(`http://app${path}`), {}, ctx)

  it('on by default, at the original paths', async () => {
    const app = appWith({})
    expect(await (await get(app, '/shop-type/list')).json()).toEqual({
      success: true,
      errorMsg: null,
      data: [],
      total: null,
    })
  })

  it('HMDP_COMPAT=off removes the surface and its documentation', async () => {
    const app = appWith({ HMDP_COMPAT: 'off' })
    expect((await get(app, '/shop-type/list')).status).toBe(404)
    const doc = await (await get(app, '/openapi.json')).json()
    const tagged = Object.values(doc.paths).flatMap((ops) =>
      Object.values(ops as Record<string, { tags?: string[] }>).filter((op) =>
        op.tags?.includes('hmdp compatible')
      )
    )
    expect(tagged).toEqual([])
    expect(doc.paths['/shop-types']).toBeDefined()
  })

  it('HMDP_PREFIX mounts it under a prefix; /imgs stays at the root', async () => {
    const app = appWith({ HMDP_PREFIX: '/api' })
    expect((await get(app, '/shop-type/list')).status).toBe(404)
    expect((await (await get(app, '/api/shop-type/list')).json()).success).toBe(true)
    expect((await get(app, '/imgs/types/ms.png')).headers.get('content-type')).toBe('image/png')
    const doc = await (await get(app, '/openapi.json')).json()
    expect(doc.paths['/api/shop-type/list']).toBeDefined()
    expect(() => loadConfig({ HMDP_PREFIX: 'api/../x' })).toThrow(/HMDP_PREFIX/)
  })
})
