import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { CacheSource } from '../../domain/cache/client.ts'
import { DomainError } from '../../domain/errors.ts'
import type { Shop, ShopInput } from '../../domain/ports/shops.ts'
import { requireAdmin } from '../http/admin.ts'
import type { AppEnv } from '../http/env.ts'
import { problem, problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'
import { IdString } from './users.ts'

/** Decimal id strings (64-bit ids do not survive JSON numbers). */

const ShopTypeSchema = z
  .object({
    id: IdString.openapi({ example: '1' }),
    name: z.string().openapi({ example: '美食' }),
    icon: z.string().openapi({ example: '/types/ms.png' }),
    sort: z.number().int(),
  })
  .openapi('ShopType')

const ShopSchema = z
  .object({
    id: IdString.openapi({ example: '1' }),
    name: z.string().openapi({ example: '103茶餐厅' }),
    typeId: IdString.openapi({ example: '1' }),
    images: z.array(z.string()),
    area: z.string().openapi({ example: '大关' }),
    address: z.string().openapi({ example: '金华路锦昌文华苑29号' }),
    lng: z.number().openapi({ example: 120.149192 }),
    lat: z.number().openapi({ example: 30.316078 }),
    avgPrice: z.number().int().openapi({ description: 'Average spend per person, whole yuan' }),
    sold: z.number().int(),
    comments: z.number().int(),
    score: z.number().openapi({ description: '0 to 5, one decimal', example: 4.7 }),
    openHours: z.string().openapi({ example: '10:00-22:00' }),
    updatedAt: z.number().int().openapi({ description: 'Unix epoch ms' }),
  })
  .openapi('Shop')

const NearbyShopSchema = ShopSchema.extend({
  distanceM: z.number().int().openapi({ description: 'Distance from the given point, metres' }),
}).openapi('NearbyShop')

const ShopInputSchema = z
  .object({
    name: z.string().trim().min(1).max(128),
    typeId: IdString,
    images: z.array(z.string().max(512)).max(9).default([]),
    area: z.string().trim().max(64).default(''),
    address: z.string().trim().min(1).max(255),
    lng: z.number().min(-180).max(180),
    lat: z.number().min(-85.05112878).max(85.05112878),
    avgPrice: z.number().int().min(0).max(1_000_000),
    score: z.number().min(0).max(5).default(0).openapi({ description: 'Rounded to one decimal' }),
    openHours: z.string().trim().max(64).default(''),
  })
  .openapi('ShopInput')

const pageOf = <T extends z.ZodType>(item: T, name: string) =>
  z
    .object({
      items: z.array(item),
      page: z.number().int(),
      size: z.number().int(),
      hasMore: z.boolean(),
    })
    .openapi(name)

const Paging = {
  page: z.coerce.number().int().min(1).max(1000).default(1).openapi({ example: 1 }),
  size: z.coerce.number().int().min(1).max(50).default(10).openapi({ example: 10 }),
}

const X_CACHE = {
  'X-Cache': {
    description:
      'Where the answer came from: L1 (isolate-local), HIT (Redis), MISS (database, now cached), STALE (past its logical expiry; refreshing in the background), BLOOM (ruled out by the Bloom filter), DEGRADED (Redis unreachable: the L1 copy).',
    schema: { type: 'string' as const },
  },
  'X-Degraded': {
    description: 'Present (value `redis`) when Redis was unreachable and the answer may be stale.',
    schema: { type: 'string' as const },
  },
}

const CACHE_HEADER: Record<CacheSource, string> = {
  l1: 'L1',
  redis: 'HIT',
  db: 'MISS',
  stale: 'STALE',
  guard: 'BLOOM',
  degraded: 'DEGRADED',
}

function cacheHeaders(source: CacheSource): Record<string, string> {
  return source === 'degraded'
    ? { 'x-cache': CACHE_HEADER[source], 'x-degraded': 'redis' }
    : { 'x-cache': CACHE_HEADER[source] }
}

const unavailable = problemResponse(
  'Redis is unreachable and nothing usable is cached here, or a rebuild is in progress (Retry-After)'
)

const getShop = createRoute({
  method: 'get',
  path: '/shops/{id}',
  tags: ['shops'],
  summary: 'A shop (cached)',
  description:
    'Served through the cache toolkit: isolate-local L1, Redis (strategy SHOP_CACHE_STRATEGY: logical expiry, mutex or pass-through), null caching and a Bloom filter against unknown ids. When Redis is down, a copy held by the L1 is served with `X-Degraded: redis`.',
  request: { params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }) },
  responses: {
    200: {
      description: 'The shop',
      headers: X_CACHE,
      content: { 'application/json': { schema: ShopSchema } },
    },
    400: problemResponse('Malformed id'),
    404: problemResponse('No such shop'),
    503: unavailable,
  },
})

const listTypes = createRoute({
  method: 'get',
  path: '/shop-types',
  tags: ['shops'],
  summary: 'All shop types, in display order (cached)',
  responses: {
    200: {
      description: 'Shop types',
      headers: X_CACHE,
      content: {
        'application/json': {
          schema: z.object({ items: z.array(ShopTypeSchema) }).openapi('ShopTypeList'),
        },
      },
    },
    503: unavailable,
  },
})

const listShops = createRoute({
  method: 'get',
  path: '/shops',
  tags: ['shops'],
  summary: 'Shops of one type, by id (database paging)',
  request: { query: z.object({ typeId: IdString, ...Paging }) },
  responses: {
    200: {
      description: 'A page of shops',
      content: { 'application/json': { schema: pageOf(ShopSchema, 'ShopPage') } },
    },
    400: problemResponse('Invalid query'),
  },
})

const nearby = createRoute({
  method: 'get',
  path: '/shops/nearby',
  tags: ['shops'],
  summary: 'Shops of one type within 5 km, nearest first (Redis GEO)',
  description:
    'Pages are windows over one distance order (GEOSEARCH … ASC COUNT page×size), so no shop appears on two pages while the set is unchanged. `distanceM` is in metres.',
  request: {
    query: z.object({
      typeId: IdString,
      // Required (z.coerce would otherwise be documented as optional and nullable).
      lng: z.coerce
        .number()
        .min(-180)
        .max(180)
        .openapi({ type: 'number', param: { required: true }, example: 120.149993 }),
      lat: z.coerce
        .number()
        .min(-85.05112878)
        .max(85.05112878)
        .openapi({ type: 'number', param: { required: true }, example: 30.334229 }),
      ...Paging,
    }),
  },
  responses: {
    200: {
      description: 'A page of nearby shops',
      headers: { 'X-Degraded': X_CACHE['X-Degraded'] },
      content: { 'application/json': { schema: pageOf(NearbyShopSchema, 'NearbyShopPage') } },
    },
    400: problemResponse('Invalid query'),
    503: unavailable,
  },
})

const search = createRoute({
  method: 'get',
  path: '/shops/search',
  tags: ['shops'],
  summary: 'Shops whose name contains the text (database paging)',
  request: {
    query: z.object({
      name: z.string().trim().min(1).max(64).openapi({ example: '茶' }),
      ...Paging,
    }),
  },
  responses: {
    200: {
      description: 'A page of shops',
      content: { 'application/json': { schema: pageOf(ShopSchema, 'ShopSearchPage') } },
    },
    400: problemResponse('Invalid query'),
  },
})

const adminResponses = {
  400: problemResponse('Invalid body (e.g. json.typeId: no such shop type)'),
  401: problemResponse('Missing or wrong admin bearer token'),
  403: problemResponse('Admin API disabled (ADMIN_TOKEN unset)'),
  503: problemResponse(
    'Redis unreachable. On PUT the row may already be saved: retry (PUT is idempotent)'
  ),
}

const createShop = createRoute({
  method: 'post',
  path: '/shops',
  tags: ['shops', 'admin'],
  summary: 'Create a shop (admin)',
  description:
    'Adds the shop to the Bloom filter and its type’s GEO set, then inserts the row, so it is readable and findable nearby as soon as this returns.',
  security: [{ adminBearer: [] }],
  middleware: [requireAdmin] as const,
  request: {
    body: { required: true, content: { 'application/json': { schema: ShopInputSchema } } },
  },
  responses: {
    201: { description: 'Created', content: { 'application/json': { schema: ShopSchema } } },
    ...adminResponses,
  },
})

const updateShop = createRoute({
  method: 'put',
  path: '/shops/{id}',
  tags: ['shops', 'admin'],
  summary: 'Replace a shop’s editable fields (admin)',
  description:
    'Cache-aside: updates the row, then deletes the cache entry (after any in-flight rebuild of it) and moves the GEO member. The next read after this returns sees the change.',
  security: [{ adminBearer: [] }],
  middleware: [requireAdmin] as const,
  request: {
    params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }),
    body: { required: true, content: { 'application/json': { schema: ShopInputSchema } } },
  },
  responses: {
    200: { description: 'Updated', content: { 'application/json': { schema: ShopSchema } } },
    404: problemResponse('No such shop'),
    ...adminResponses,
  },
})

const rebuildIndexes = createRoute({
  method: 'post',
  path: '/admin/shop-indexes/rebuild',
  tags: ['shops', 'admin'],
  summary: 'Rebuild the shop Bloom filter and GEO sets from the database (admin)',
  description:
    'Needed after shops were written to the database behind the API’s back (e.g. by SQL): the Bloom filter would otherwise rule their ids out. Idempotent; one rebuild at a time (503 LOCK_TIMEOUT while another runs).',
  security: [{ adminBearer: [] }],
  middleware: [requireAdmin] as const,
  responses: {
    200: {
      description: 'Rebuilt',
      content: {
        'application/json': {
          schema: z.object({ shops: z.number().int() }).openapi('ShopIndexRebuild'),
        },
      },
    },
    401: adminResponses[401],
    403: adminResponses[403],
    503: problemResponse('Redis unreachable, or another rebuild is running (Retry-After)'),
  },
})

type Ctx = Context<AppEnv>

/** A domain VALIDATION_FAILED naming a body field becomes the usual 400 with `errors[].path`. */
async function admin<T>(c: Ctx, work: () => Promise<T>): Promise<T | Response> {
  try {
    return await work()
  } catch (e) {
    if (e instanceof DomainError && e.code === 'VALIDATION_FAILED' && e.details?.field) {
      const path = `json.${String(e.details.field)}`
      return problem(c, 400, 'VALIDATION_FAILED', 'Request validation failed', {
        detail: `invalid: ${path}`,
        errors: [{ path, message: e.message }],
      })
    }
    throw e
  }
}

function toInput(body: z.infer<typeof ShopInputSchema>): ShopInput {
  return { ...body, score: Math.round(body.score * 10) / 10 }
}

const shopJson = (shop: Shop) => shop

export const shopRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(listTypes, async (c) => {
    const { value, source } = await c.var.deps.shops.listTypes()
    return c.json({ items: value ?? [] }, 200, cacheHeaders(source))
  })
  .openapi(nearby, async (c) => {
    const q = c.req.valid('query')
    const result = await c.var.deps.shops.nearby(
      q.typeId,
      { lng: q.lng, lat: q.lat },
      q.page,
      q.size
    )
    const { degraded, ...page } = result
    return c.json(page, 200, degraded ? { 'x-degraded': 'redis' } : {})
  })
  .openapi(search, async (c) => {
    const q = c.req.valid('query')
    return c.json(await c.var.deps.shops.search(q.name, q.page, q.size), 200)
  })
  .openapi(listShops, async (c) => {
    const q = c.req.valid('query')
    return c.json(await c.var.deps.shops.listByType(q.typeId, q.page, q.size), 200)
  })
  .openapi(getShop, async (c) => {
    const { value, source } = await c.var.deps.shops.getShop(c.req.valid('param').id)
    if (!value) {
      return problem(c, 404, 'SHOP_NOT_FOUND', 'No such shop', {}, cacheHeaders(source)) as never
    }
    return c.json(shopJson(value), 200, cacheHeaders(source))
  })
  .openapi(createShop, async (c) => {
    const body = toInput(c.req.valid('json'))
    const shop = await admin(c, () => c.var.deps.shops.create(body))
    if (shop instanceof Response) return shop as never
    return c.json(shopJson(shop), 201)
  })
  .openapi(updateShop, async (c) => {
    const body = toInput(c.req.valid('json'))
    const id = c.req.valid('param').id
    const shop = await admin(c, () => c.var.deps.shops.update(id, body))
    if (shop instanceof Response) return shop as never
    return c.json(shopJson(shop), 200)
  })

shopRoutes.openapi(rebuildIndexes, async (c) => {
  return c.json(await c.var.deps.shops.rebuildIndexes(), 200)
})

shopRoutes.openAPIRegistry.registerComponent('securitySchemes', 'adminBearer', {
  type: 'http',
  scheme: 'bearer',
  description: 'ADMIN_TOKEN (admin API)',
})
