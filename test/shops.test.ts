import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { createDatabase, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { DEMO_CENTER, demoShops, seedDemoShops } from '../src/adapters/postgres/seed.ts'
import { DrizzleShopRepository } from '../src/adapters/postgres/shop-repository.ts'
import { type NodeServer, startNodeServer } from '../src/app/node.ts'
import type { ShopRepository } from '../src/domain/ports/shops.ts'
import { shopKeys } from '../src/domain/shops/service.ts'
import { shopRepositoryContract } from './contracts/shop-repository.contract.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

const services = inject('services')
const ADMIN_TOKEN = 'shops-admin-token-0123456789'
const QUIET = { APP_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: ':memory:', ADMIN_TOKEN }
const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

/** Counts database loads of single shops (the cache's `load`), per id. */
function loadCounter() {
  const byId = new Map<string, number>()
  const wrap = (repo: ShopRepository): ShopRepository =>
    new Proxy(repo, {
      get(target, prop) {
        if (prop === 'findById') {
          return (id: string) => {
            byId.set(id, (byId.get(id) ?? 0) + 1)
            return target.findById(id)
          }
        }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
  return { wrap, of: (id: string) => byId.get(id) ?? 0 }
}

const shopInput = (typeId: string, over: Record<string, unknown> = {}) => ({
  name: '新开的小店',
  typeId,
  images: ['/imgs/new.jpg'],
  area: '大关',
  address: '大关路100号',
  lng: DEMO_CENTER.lng + 0.001,
  lat: DEMO_CENTER.lat + 0.001,
  avgPrice: 55,
  score: 4.2,
  openHours: '09:00-21:00',
  ...over,
})

type Json = Record<string, unknown>
type NearbyPage = { items: (Json & { id: string; distanceM: number })[]; hasMore: boolean }

/** Walks every nearby page of `typeId` around the demo centre. */
async function allNearby(base: string, typeId: string, size: number) {
  const pages: NearbyPage[] = []
  for (let page = 1; page < 50; page++) {
    const res = await fetch(
      `${base}/shops/nearby?typeId=${typeId}&lng=${DEMO_CENTER.lng}&lat=${DEMO_CENTER.lat}&page=${page}&size=${size}`
    )
    expect(res.status).toBe(200)
    const body = (await res.json()) as NearbyPage
    pages.push(body)
    if (!body.hasMore) break
  }
  return pages
}

function expectNearbyPaging(pages: NearbyPage[], size: number) {
  const items = pages.flatMap((p) => p.items)
  const ids = items.map((s) => s.id)
  expect(new Set(ids).size).toBe(ids.length) // no duplicates across pages
  const distances = items.map((s) => s.distanceM)
  expect(distances).toEqual([...distances].sort((a, b) => a - b)) // nearest first, across pages
  expect(distances.every((d) => d >= 0 && d <= 5_000)).toBe(true)
  for (const page of pages.slice(0, -1)) expect(page.items).toHaveLength(size)
  return ids
}

shopRepositoryContract('drizzle + pglite (in-memory)', async () => {
  const handle = await createDatabase({ driver: 'pglite' })
  await migrateDatabase(handle)
  await seedDemoShops(handle.db)
  return { repo: new DrizzleShopRepository(handle.db), dispose: () => handle.close() }
})

describe('demo data set', () => {
  it('is deterministic, 20 shops per type, around the demo centre (some beyond 5 km)', () => {
    const a = demoShops()
    expect(demoShops()).toEqual(a)
    expect(a).toHaveLength(200)
    const perType = new Map<string, number>()
    for (const s of a) perType.set(s.type, (perType.get(s.type) ?? 0) + 1)
    expect([...perType.values()]).toEqual(Array(10).fill(20))
    expect(a.find((s) => s.name === '103茶餐厅')).toMatchObject({ lng: 120.149192, lat: 30.316078 })
    const far = a.filter((s) => Math.hypot(s.lng - DEMO_CENTER.lng, s.lat - DEMO_CENTER.lat) > 0.06)
    expect(far.length).toBeGreaterThan(0)
  })

  it('seeds an empty database once; running it again changes nothing', async () => {
    const handle = await createDatabase({ driver: 'pglite' })
    try {
      await migrateDatabase(handle)
      expect(await seedDemoShops(handle.db)).toEqual({ seeded: true, types: 10, shops: 200 })
      expect(await seedDemoShops(handle.db)).toEqual({ seeded: false, types: 0, shops: 0 })
      const { rows } = await handle.db.execute<{ t: number; s: number }>(
        sql`select (select count(*) from shop_types)::int as t, (select count(*) from shops)::int as s`
      )
      expect(rows[0]).toEqual({ t: 10, s: 200 })
    } finally {
      await handle.close()
    }
  })
})

describe('shops over HTTP on embedded defaults (memory Redis, PGlite, demo data)', () => {
  let server: NodeServer
  beforeAll(async () => {
    server = await startNodeServer({ port: 0, env: { ...QUIET, SEED_DEMO_DATA: 'true' } })
  })
  afterAll(() => server?.close())
  const get = (path: string) => fetch(`${server.url}${path}`)

  it('lists shop types in display order, cached', async () => {
    const first = await get('/shop-types')
    expect(first.status).toBe(200)
    const { items } = await first.json()
    expect(items).toHaveLength(10)
    expect(items[0]).toEqual({
      id: expect.any(String),
      name: '美食',
      icon: '/types/ms.png',
      sort: 1,
    })
    expect(['MISS', 'L1', 'HIT']).toContain(first.headers.get('x-cache'))
    expect((await get('/shop-types')).headers.get('x-cache')).toBe('L1')
  })

  it('serves a shop through the cache: MISS, then L1; unknown ids 404 via the Bloom filter', async () => {
    const miss = await get('/shops/1')
    expect(miss.status).toBe(200)
    expect(miss.headers.get('x-cache')).toBe('MISS')
    const shop = await miss.json()
    expect(shop).toMatchObject({
      id: '1',
      name: '103茶餐厅',
      typeId: '1',
      score: 3.7,
      avgPrice: 80,
    })
    const hit = await get('/shops/1')
    expect(hit.headers.get('x-cache')).toBe('L1')
    expect(await hit.json()).toEqual(shop)
    const unknown = await get('/shops/987654321')
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get('content-type')).toBe('application/problem+json')
    expect(unknown.headers.get('x-cache')).toBe('BLOOM')
    expect((await unknown.json()).code).toBe('SHOP_NOT_FOUND')
  })

  it('names the offending field of a malformed request', async () => {
    const cases: [string, string[]][] = [
      ['/shops/abc', ['param.id']],
      ['/shops?page=1', ['query.typeId']],
      ['/shops?typeId=1&page=0&size=500', ['query.page', 'query.size']],
      ['/shops/nearby?typeId=1&lng=200&lat=30', ['query.lng']],
      ['/shops/nearby?typeId=1&lng=120', ['query.lat']],
      ['/shops/search?name=', ['query.name']],
    ]
    for (const [path, fields] of cases) {
      const res = await get(path)
      expect(res.status, path).toBe(400)
      const body = await res.json()
      expect(body.code).toBe('VALIDATION_FAILED')
      expect(body.errors.map((e: { path: string }) => e.path).sort(), path).toEqual(fields)
    }
  })

  it('pages a type from the database and searches by name', async () => {
    const p1 = await (await get('/shops?typeId=2&page=1&size=8')).json()
    const p3 = await (await get('/shops?typeId=2&page=3&size=8')).json()
    expect(p1).toMatchObject({ page: 1, size: 8, hasMore: true })
    expect(p1.items).toHaveLength(8)
    expect(p3).toMatchObject({ page: 3, hasMore: false })
    expect(p3.items).toHaveLength(4)
    expect(p1.items.every((s: Json) => s.typeId === '2')).toBe(true)
    const found = await (await get(`/shops/search?name=${encodeURIComponent('茶餐')}`)).json()
    expect(found.items.map((s: Json) => s.name)).toContain('103茶餐厅')
  })

  it('finds shops nearby: by distance, 5 km, no duplicates across pages', async () => {
    const pages = await allNearby(server.url, '1', 4)
    const ids = expectNearbyPaging(pages, 4)
    const one = await (
      await get(`/shops/nearby?typeId=1&lng=${DEMO_CENTER.lng}&lat=${DEMO_CENTER.lat}&size=50`)
    ).json()
    expect(one.items.map((s: Json) => s.id)).toEqual(ids)
    expect(ids.length).toBeGreaterThan(4)
    expect(ids.length).toBeLessThan(20) // some demo shops are beyond 5 km
  })

  it('admin routes: 401 without or with a wrong token', async () => {
    for (const authorization of [undefined, 'Bearer wrong-token-0123456789', ADMIN_TOKEN]) {
      const res = await fetch(`${server.url}/shops`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        body: JSON.stringify(shopInput('1')),
      })
      expect(res.status).toBe(401)
      expect((await res.json()).code).toBe('ADMIN_UNAUTHORIZED')
      const put = await fetch(`${server.url}/shops/1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', ...(authorization && { authorization }) },
        body: JSON.stringify(shopInput('1')),
      })
      expect(put.status).toBe(401)
    }
  })

  it('creates a shop: readable at once (Bloom filter updated) and found nearby', async () => {
    const res = await fetch(`${server.url}/shops`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify(shopInput('1')),
    })
    expect(res.status).toBe(201)
    const shop = await res.json()
    expect(shop).toMatchObject({ ...shopInput('1'), sold: 0, comments: 0 })
    expect(shop.id).toMatch(/^\d+$/)
    const read = await get(`/shops/${shop.id}`)
    expect(read.status).toBe(200)
    expect(await read.json()).toEqual(shop)
    const near = await (
      await get(`/shops/nearby?typeId=1&lng=${shop.lng}&lat=${shop.lat}&size=1`)
    ).json()
    expect(near.items[0]).toMatchObject({ id: shop.id, distanceM: 0 })
  })

  it('updates a shop: the next read sees it, and it moves between GEO sets', async () => {
    const created = await (
      await fetch(`${server.url}/shops`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify(shopInput('3', { name: 'before' })),
      })
    ).json()
    expect((await (await get(`/shops/${created.id}`)).json()).name).toBe('before')
    const near = (typeId: string) =>
      get(`/shops/nearby?typeId=${typeId}&lng=${created.lng}&lat=${created.lat}&size=1`).then((r) =>
        r.json()
      )
    expect((await near('3')).items[0].id).toBe(created.id)
    const put = await fetch(`${server.url}/shops/${created.id}`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify(shopInput('4', { name: 'after', lng: created.lng + 0.01 })),
    })
    expect(put.status).toBe(200)
    expect(await put.json()).toMatchObject({ id: created.id, name: 'after', typeId: '4' })
    const read = await get(`/shops/${created.id}`)
    expect(await read.json()).toMatchObject({ name: 'after', typeId: '4' })
    expect((await near('3')).items[0]?.id).not.toBe(created.id)
    expect((await near('4')).items[0]).toMatchObject({ id: created.id })
  })

  it('admin errors: unknown type names json.typeId, unknown shop 404, bad body 400', async () => {
    const unknownType = await fetch(`${server.url}/shops`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify(shopInput('999999')),
    })
    expect(unknownType.status).toBe(400)
    expect((await unknownType.json()).errors).toEqual([
      { path: 'json.typeId', message: 'No such shop type' },
    ])
    const missing = await fetch(`${server.url}/shops/999999999`, {
      method: 'PUT',
      headers: admin,
      body: JSON.stringify(shopInput('1')),
    })
    expect(missing.status).toBe(404)
    const bad = await fetch(`${server.url}/shops`, {
      method: 'POST',
      headers: admin,
      body: JSON.stringify({ ...shopInput('1'), lat: 89, avgPrice: -1, name: '' }),
    })
    expect(bad.status).toBe(400)
    const paths = (await bad.json()).errors.map((e: { path: string }) => e.path).sort()
    expect(paths).toEqual(['json.avgPrice', 'json.lat', 'json.name'])
  })

  it('documents every shop route and the admin bearer scheme in /openapi.json', async () => {
    const doc = await (await get('/openapi.json')).json()
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/shop-types',
        '/shops',
        '/shops/{id}',
        '/shops/nearby',
        '/shops/search',
      ])
    )
    expect(Object.keys(doc.paths['/shops'])).toEqual(expect.arrayContaining(['get', 'post']))
    expect(doc.paths['/shops/{id}'].put.security).toEqual([{ adminBearer: [] }])
    expect(doc.components.securitySchemes.adminBearer).toMatchObject({ scheme: 'bearer' })
    expect(doc.components.schemas.Shop).toBeDefined()
  })
})

describe('admin routes without ADMIN_TOKEN', () => {
  it('are refused with 403 (a forgotten secret never opens the door)', async () => {
    const server = await startNodeServer({
      port: 0,
      env: { APP_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: ':memory:' },
    })
    try {
      const res = await fetch(`${server.url}/shops`, {
        method: 'POST',
        headers: admin,
        body: JSON.stringify(shopInput('1')),
      })
      expect(res.status).toBe(403)
      expect((await res.json()).code).toBe('ADMIN_DISABLED')
    } finally {
      await server.close()
    }
  })
})

describe.skipIf(!services.redis || !services.postgres)(
  'shops on the real stack (Upstash gateway → Redis, Neon proxy → Postgres)',
  () => {
    let db: TestDatabase
    let proxy: NeonProxy
    let gateway: UpstashGateway
    let direct: DirectRedis
    const servers: NodeServer[] = []
    const prefixes: string[] = []

    beforeAll(async () => {
      db = await createTestDatabase()
      proxy = await startNeonProxy()
      gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'shops-token' })
      direct = await directRedis()
      let handle: DatabaseHandle | undefined
      try {
        handle = await createDatabase({
          driver: 'neon-serverless',
          url: db.url,
          localProxy: proxy.address,
        })
        await seedDemoShops(handle.db)
      } finally {
        await handle?.close()
      }
    })
    afterAll(async () => {
      await Promise.allSettled(servers.map((s) => s.close()))
      for (const prefix of prefixes) await deleteByPrefix(direct, prefix)
      await direct?.quit()
      await gateway?.close()
      await proxy?.close()
      await db?.drop()
    })

    /** A Node server on the real adapters, with its own key prefix and DB-load counter. */
    async function start(env: Record<string, string>, via: UpstashGateway = gateway) {
      const prefix = uniquePrefix('shops')
      prefixes.push(prefix)
      const loads = loadCounter()
      const server = await startNodeServer({
        port: 0,
        env: {
          ...QUIET,
          UPSTASH_REDIS_REST_URL: via.url,
          UPSTASH_REDIS_REST_TOKEN: via.token,
          DATABASE_URL: db.url,
          NEON_LOCAL_PROXY: proxy.address,
          REDIS_KEY_PREFIX: prefix,
          ...env,
        },
        decorate: { shops: loads.wrap },
      })
      servers.push(server)
      const warm = async () => {
        const scope = await server.container.scope()
        await scope.deps.shops.ensureIndexes()
      }
      return { server, prefix, loads, warm, url: server.url }
    }

    const hammer = (url: string, n: number) =>
      Promise.all(
        Array.from({ length: n }, async () => {
          const res = await fetch(url)
          return { status: res.status, cache: res.headers.get('x-cache'), body: await res.text() }
        })
      )

    shopRepositoryContract('drizzle + node-postgres (TCP → Postgres)', async () => {
      const handle = await createDatabase({ driver: 'node-postgres', url: db.url })
      return { repo: new DrizzleShopRepository(handle.db), dispose: () => handle.close() }
    })

    shopRepositoryContract('drizzle + neon-serverless (proxy → Postgres)', async () => {
      const handle = await createDatabase({
        driver: 'neon-serverless',
        url: db.url,
        localProxy: proxy.address,
      })
      return { repo: new DrizzleShopRepository(handle.db), dispose: () => handle.close() }
    })

    it('seeding concurrently through two connections seeds once', async () => {
      const other = await createTestDatabase()
      const open = () =>
        createDatabase({ driver: 'neon-serverless', url: other.url, localProxy: proxy.address })
      const [a, b] = await Promise.all([open(), open()])
      try {
        const results = await Promise.all([seedDemoShops(a.db), seedDemoShops(b.db)])
        expect(results.map((r) => r.seeded).sort()).toEqual([false, true])
        const { rows } = await a.db.execute<{ n: number }>(
          sql`select count(*)::int as n from shops`
        )
        expect(rows[0]!.n).toBe(200)
      } finally {
        await Promise.all([a.close(), b.close()])
        await other.drop()
      }
    })

    it.each(['mutex', 'logical'])(
      '%s: 500 concurrent requests for one cold shop → exactly one database load',
      async (strategy) => {
        const app = await start({ SHOP_CACHE_STRATEGY: strategy, SHOP_BLOOM_FILTER: 'off' })
        const id = strategy === 'mutex' ? '21' : '22'
        const results = await hammer(`${app.url}/shops/${id}`, 500)
        expect(results.filter((r) => r.status !== 200)).toEqual([])
        expect(new Set(results.map((r) => r.body)).size).toBe(1)
        expect(JSON.parse(results[0]!.body).id).toBe(id)
        expect(results.filter((r) => r.cache === 'MISS')).toHaveLength(1)
        expect(app.loads.of(id)).toBe(1)
      }
    )

    it('logical: past its logical expiry, 500 requests get the stale entry and one refresh runs', async () => {
      // A 1 ms L1 TTL: every read asks Redis (no isolate-local copy hides the expiry).
      const app = await start({
        SHOP_CACHE_STRATEGY: 'logical',
        SHOP_BLOOM_FILTER: 'off',
        CACHE_L1_TTL: '1ms',
      })
      const id = '23'
      const url = `${app.url}/shops/${id}`
      expect((await fetch(url)).status).toBe(200)
      // Expire it: rewrite the entry's logical expiry into the past (what time would do).
      const key = `${app.prefix}${shopKeys.shop(id)}`
      const entry = JSON.parse((await direct.get(key))!)
      await direct.set(key, JSON.stringify({ ...entry, x: Date.now() - 1 }), {
        expiration: 'KEEPTTL',
      })
      const results = await hammer(url, 500)
      expect(results.filter((r) => r.status !== 200)).toEqual([])
      expect(results.some((r) => r.cache === 'STALE')).toBe(true)
      await vi.waitFor(async () => {
        expect(JSON.parse((await direct.get(key))!).x).toBeGreaterThan(Date.now())
      })
      expect(app.loads.of(id)).toBe(2) // the cold load and exactly one refresh
    })

    it('1,000 requests for an id that never existed: one DB query with null caching, none with the Bloom filter', async () => {
      const nulls = await start({ SHOP_CACHE_STRATEGY: 'mutex', SHOP_BLOOM_FILTER: 'off' })
      const bloom = await start({ SHOP_CACHE_STRATEGY: 'mutex', SHOP_BLOOM_FILTER: 'on' })
      await bloom.warm()
      const id = '900000001'
      const [a, b] = await Promise.all([
        hammer(`${nulls.url}/shops/${id}`, 1_000),
        hammer(`${bloom.url}/shops/${id}`, 1_000),
      ])
      for (const results of [a, b]) {
        expect(results.filter((r) => r.status !== 404)).toEqual([])
        expect(JSON.parse(results[0]!.body).code).toBe('SHOP_NOT_FOUND')
      }
      expect(nulls.loads.of(id)).toBe(1)
      expect(bloom.loads.of(id)).toBe(0)
      expect(b.every((r) => r.cache === 'BLOOM')).toBe(true)
      // The null marker's TTL is the short one (2 min), not the shop TTL.
      const ttl = await direct.pTTL(`${nulls.prefix}${shopKeys.shop(id)}`)
      expect(ttl).toBeGreaterThan(100_000)
      expect(ttl).toBeLessThanOrEqual(2 * 60_000 * 1.1)
    })

    it('spreads the TTLs of a batch of entries written together (jitter)', async () => {
      const app = await start({ SHOP_CACHE_STRATEGY: 'mutex', SHOP_BLOOM_FILTER: 'off' })
      const ids = Array.from({ length: 50 }, (_, i) => String(100 + i))
      await Promise.all(ids.map((id) => fetch(`${app.url}/shops/${id}`)))
      const ttls = await Promise.all(
        ids.map((id) => direct.pTTL(`${app.prefix}${shopKeys.shop(id)}`))
      )
      const min = Math.min(...ttls)
      const max = Math.max(...ttls)
      console.log(`jitter: 50 TTLs from ${min} to ${max} ms (30 min + up to 10 %)`)
      expect(min).toBeGreaterThan(30 * 60_000 - 60_000)
      expect(max).toBeLessThanOrEqual(33 * 60_000)
      expect(max - min).toBeGreaterThan(60_000) // spread over minutes, not one instant
      expect(new Set(ttls).size).toBeGreaterThan(45)
    })

    it.each(['mutex', 'logical'])(
      '%s: an update is visible on the next read after the write returns, even with reads in flight',
      async (strategy) => {
        const app = await start({ SHOP_CACHE_STRATEGY: strategy })
        await app.warm()
        const id = strategy === 'mutex' ? '31' : '32'
        const url = `${app.url}/shops/${id}`
        const original = await (await fetch(url)).json()
        const inFlight: Promise<unknown>[] = []
        for (let i = 0; i < 8; i++) {
          inFlight.push(hammer(url, 20))
          const put = await fetch(url, {
            method: 'PUT',
            headers: admin,
            body: JSON.stringify({ ...shopInput(original.typeId), name: `renamed ${i}` }),
          })
          expect(put.status).toBe(200)
          const read = await fetch(url)
          expect(read.status).toBe(200)
          expect((await read.json()).name).toBe(`renamed ${i}`)
        }
        await Promise.all(inFlight)
        expect((await (await fetch(url)).json()).name).toBe('renamed 7')
      }
    )

    it('GEO paging on Redis: ordered by distance, no duplicates across pages', async () => {
      const app = await start({})
      await app.warm()
      for (const typeId of ['1', '2']) {
        const ids = expectNearbyPaging(await allNearby(app.url, typeId, 3), 3)
        expect(ids.length).toBeGreaterThan(3)
      }
    })

    it('a shop inserted behind the API’s back is ruled out by the Bloom filter until an admin rebuild', async () => {
      const app = await start({})
      await app.warm()
      const client = new pg.Client({ connectionString: db.url })
      await client.connect()
      const { rows } = await client.query<{ id: string }>(
        `insert into shops (type_id, name, address, lng, lat) values (1, '直接写库', '某路1号', 120.15, 30.33)
         returning id::text`
      )
      await client.end()
      const url = `${app.url}/shops/${rows[0]!.id}`
      const before = await fetch(url)
      expect(before.status).toBe(404)
      expect(before.headers.get('x-cache')).toBe('BLOOM')
      const rebuild = `${app.url}/admin/shop-indexes/rebuild`
      expect((await fetch(rebuild, { method: 'POST' })).status).toBe(401)
      const res = await fetch(rebuild, { method: 'POST', headers: admin })
      expect(res.status).toBe(200)
      expect((await res.json()).shops).toBeGreaterThan(200)
      const after = await fetch(url)
      expect(after.status).toBe(200)
      expect((await after.json()).name).toBe('直接写库')
    })

    it('nearby answers 503 while the GEO index is missing, and rebuilds it on demand', async () => {
      const app = await start({})
      const url = `${app.url}/shops/nearby?typeId=1&lng=${DEMO_CENTER.lng}&lat=${DEMO_CENTER.lat}`
      const first = await fetch(url)
      expect(first.status).toBe(503)
      expect(first.headers.get('retry-after')).toBe('1')
      expect((await first.json()).code).toBe('DEPENDENCY_UNAVAILABLE')
      await vi.waitFor(async () => expect((await fetch(url)).status).toBe(200), {
        timeout: 10_000,
        interval: 50,
      })
    })

    it('Redis down mid-test: cached shops 200 (degraded), uncached 503, nothing crashes, recovery is automatic', async () => {
      const own = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'outage-token' })
      try {
        // A 1 ms L1 TTL: every read asks Redis, so the outage is what the L1 fallback answers.
        const app = await start({ CACHE_L1_TTL: '1ms' }, own)
        await app.warm()
        for (const path of ['/shops/41', '/shops/42', '/shop-types']) {
          expect((await fetch(`${app.url}${path}`)).status).toBe(200)
        }
        const before = await (await fetch(`${app.url}/shops/41`)).json()
        await own.suspend()

        const cached = await fetch(`${app.url}/shops/41`)
        expect(cached.status).toBe(200)
        expect(cached.headers.get('x-degraded')).toBe('redis')
        expect(cached.headers.get('x-cache')).toBe('DEGRADED')
        expect(await cached.json()).toEqual(before)
        const types = await fetch(`${app.url}/shop-types`)
        expect(types.status).toBe(200)
        expect(types.headers.get('x-degraded')).toBe('redis')

        const uncached = await fetch(`${app.url}/shops/43`)
        expect(uncached.status).toBe(503)
        expect(uncached.headers.get('content-type')).toBe('application/problem+json')
        expect(await uncached.json()).toMatchObject({
          code: 'DEPENDENCY_UNAVAILABLE',
          dependency: 'redis',
        })
        const put = await fetch(`${app.url}/shops/42`, {
          method: 'PUT',
          headers: admin,
          body: JSON.stringify(shopInput('1', { name: 'must not be saved' })),
        })
        expect(put.status).toBe(503)

        // A burst of mixed requests: only 200/404/503, and the server stays up.
        const paths = [
          '/shops/41',
          '/shops/42',
          '/shops/44',
          '/shops/nearby?typeId=1&lng=120&lat=30',
        ]
        const burst = await Promise.all(
          Array.from({ length: 200 }, (_, i) => fetch(`${app.url}${paths[i % paths.length]}`))
        )
        expect(new Set(burst.map((r) => r.status))).toEqual(new Set([200, 503]))
        expect((await fetch(`${app.url}/health`)).status).toBe(503)

        await own.resume()
        await vi.waitFor(
          async () => {
            const res = await fetch(`${app.url}/shops/41`)
            expect(res.status).toBe(200)
            expect(res.headers.get('x-degraded')).toBeNull()
          },
          { timeout: 10_000, interval: 50 }
        )
        expect((await fetch(`${app.url}/shops/43`)).status).toBe(200)
        const after = await (await fetch(`${app.url}/shops/42`)).json()
        expect(after.name).not.toBe('must not be saved')
      } finally {
        await own.resume()
        await own.close()
      }
    })
  }
)
