import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { AppEnv } from '../../http/env.ts'
import {
  Current,
  hmdpValidationHook,
  Id,
  IdParam,
  ok,
  okResponse,
  refuse,
  responses,
  TAG,
} from './envelope.ts'
import {
  ShopSchema,
  ShopTypeSchema,
  shopJson,
  shopTypeJson,
  VoucherSchema,
  voucherJson,
} from './shapes.ts'

/** Page sizes of the original (SystemConstants): 5 shops by type or distance, 10 by name. */
export const SHOPS_PER_PAGE = 5
export const SHOPS_BY_NAME_PER_PAGE = 10

const routes = {
  types: createRoute({
    method: 'get',
    path: '/shop-type/list',
    tags: [TAG],
    summary: 'All shop types, in display order (cached)',
    responses: {
      200: okResponse(z.array(ShopTypeSchema), 'HmdpShopTypes', 'The types'),
      503: responses.unavailable,
    },
  }),
  shop: createRoute({
    method: 'get',
    path: '/shop/{id}',
    tags: [TAG],
    summary: 'One shop, through the cache toolkit',
    description: 'Refusal: "店铺不存在！" (`code` SHOP_NOT_FOUND).',
    request: { params: IdParam },
    responses: {
      200: okResponse(ShopSchema, 'HmdpShopResult', 'The shop'),
      400: responses.badRequest,
      503: responses.unavailable,
    },
  }),
  byType: createRoute({
    method: 'get',
    path: '/shop/of/type',
    tags: [TAG],
    summary: `Shops of a type, ${SHOPS_PER_PAGE} per page; nearest first within 5 km when x and y are given`,
    request: {
      query: z.object({
        typeId: Id,
        current: Current,
        x: z.coerce.number().min(-180).max(180).optional().openapi({ example: 120.149993 }),
        y: z.coerce
          .number()
          .min(-85.05112878)
          .max(85.05112878)
          .optional()
          .openapi({ example: 30.334229 }),
      }),
    },
    responses: {
      200: okResponse(
        z.array(ShopSchema),
        'HmdpShops',
        'A page of shops (`distance` in metres with x, y)'
      ),
      400: responses.badRequest,
      503: responses.unavailable,
    },
  }),
  byName: createRoute({
    method: 'get',
    path: '/shop/of/name',
    tags: [TAG],
    summary: `Shops whose name contains the text, ${SHOPS_BY_NAME_PER_PAGE} per page; an empty name lists all`,
    request: {
      query: z.object({
        name: z.string().trim().max(64).default('').openapi({ example: '茶' }),
        current: Current,
      }),
    },
    responses: {
      200: okResponse(z.array(ShopSchema), 'HmdpShopsByName', 'A page of shops'),
      400: responses.badRequest,
    },
  }),
  vouchers: createRoute({
    method: 'get',
    path: '/voucher/list/{shopId}',
    tags: [TAG],
    summary: "A shop's vouchers, flash-sale terms flat (type 1 = flash sale)",
    request: {
      params: z.object({ shopId: Id.openapi({ param: { name: 'shopId', in: 'path' } }) }),
    },
    responses: {
      200: okResponse(z.array(VoucherSchema), 'HmdpVouchers', 'The vouchers'),
      400: responses.badRequest,
    },
  }),
}

export const hmdpShops = new OpenAPIHono<AppEnv>({ defaultHook: hmdpValidationHook })
  .openapi(routes.types, async (c) => {
    const { value } = await c.var.deps.shops.listTypes()
    return ok(c, (value ?? []).map(shopTypeJson))
  })
  .openapi(routes.byType, async (c) => {
    const { typeId, current, x, y } = c.req.valid('query')
    const shops = c.var.deps.shops
    if (x !== undefined && y !== undefined) {
      const page = await shops.nearby(typeId, { lng: x, lat: y }, current, SHOPS_PER_PAGE)
      return ok(
        c,
        page.items.map((s) => shopJson(s, s.distanceM))
      )
    }
    const page = await shops.listByType(typeId, current, SHOPS_PER_PAGE)
    return ok(
      c,
      page.items.map((s) => shopJson(s))
    )
  })
  .openapi(routes.byName, async (c) => {
    const { name, current } = c.req.valid('query')
    const page = await c.var.deps.shops.search(name, current, SHOPS_BY_NAME_PER_PAGE)
    return ok(
      c,
      page.items.map((s) => shopJson(s))
    )
  })
  .openapi(routes.shop, async (c) => {
    const { value } = await c.var.deps.shops.getShop(c.req.valid('param').id)
    if (!value) return refuse(c, 200, '店铺不存在！', 'SHOP_NOT_FOUND')
    return ok(c, shopJson(value))
  })
  .openapi(routes.vouchers, async (c) => {
    const list = await c.var.deps.vouchers.listByShop(c.req.valid('param').shopId)
    return ok(c, list.map(voucherJson))
  })
