import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { Order, Voucher } from '../../domain/ports/vouchers.ts'
import { reconcile } from '../../domain/seckill/reconcile.ts'
import {
  cancelOrder,
  createVoucher,
  type OrderView,
  orderStatus,
  payOrder,
  relayOutbox,
} from '../../domain/seckill/seckill.ts'
import { requireAdmin } from '../http/admin.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { DateTimeInput, Int4 } from '../http/fields.ts'
import { problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'
import { seckillDeps } from './seckill.ts'
import { IdString } from './users.ts'

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString())
const Timestamp = z.string().openapi({ format: 'date-time' })

const SaleSchema = z.object({
  stock: z
    .number()
    .int()
    .openapi({ description: 'Units left in Postgres (the Redis ledger admits)' }),
  initialStock: z.number().int(),
  beginAt: Timestamp,
  endAt: Timestamp,
  perUserLimit: z.number().int(),
})

const VoucherSchema = z
  .object({
    id: IdString,
    shopId: IdString,
    title: z.string(),
    subTitle: z.string(),
    rules: z.string(),
    payValue: z.number().int().openapi({ description: 'fen' }),
    actualValue: z.number().int().openapi({ description: 'fen' }),
    kind: z.enum(['normal', 'seckill']),
    status: z.enum(['on', 'off']),
    seckill: SaleSchema.nullable(),
    createdAt: Timestamp,
  })
  .openapi('Voucher')

const voucherJson = (v: Voucher) => ({
  ...v,
  createdAt: iso(v.createdAt)!,
  seckill: v.seckill && {
    ...v.seckill,
    beginAt: iso(v.seckill.beginAt)!,
    endAt: iso(v.seckill.endAt)!,
  },
})

const OrderSchema = z
  .object({
    id: IdString,
    voucherId: IdString,
    status: z.enum(['pending', 'unpaid', 'paid', 'cancelled', 'failed']),
    createdAt: Timestamp,
    paidAt: Timestamp.nullable(),
    cancelledAt: Timestamp.nullable(),
  })
  .openapi('Order')

export const orderJson = (o: OrderView | Order) => ({
  id: o.id,
  voucherId: o.voucherId,
  status: o.status,
  createdAt: iso(o.createdAt)!,
  paidAt: iso(o.paidAt),
  cancelledAt: iso(o.cancelledAt),
})

const NewVoucherBody = z.object({
  shopId: IdString,
  title: z.string().min(1).max(128),
  subTitle: z.string().max(255).default(''),
  rules: z.string().max(2000).default(''),
  payValue: Int4().openapi({ description: 'fen' }),
  actualValue: Int4().openapi({ description: 'fen' }),
})

const NewSeckillBody = NewVoucherBody.extend({
  stock: z.number().int().min(0).max(10_000_000),
  beginAt: DateTimeInput,
  endAt: DateTimeInput,
  perUserLimit: z.number().int().min(1).max(100).default(1),
})

const json = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})
const voucherOut = { 'application/json': { schema: VoucherSchema } }
const orderOut = { 'application/json': { schema: OrderSchema } }
export const idParam = z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) })
const admin = { security: [{ adminBearer: [] }], middleware: [requireAdmin] }
const user = { security: [{ bearerAuth: [] }], middleware: [requireUser] }

const adminErrors = {
  400: problemResponse('Invalid input'),
  401: problemResponse('Missing or wrong admin token'),
  403: problemResponse('Admin API disabled (no ADMIN_TOKEN)'),
}

const routes = {
  createVoucher: createRoute({
    method: 'post',
    path: '/vouchers',
    tags: ['vouchers'],
    summary: 'Create a normal voucher (admin)',
    ...admin,
    request: { body: json(NewVoucherBody) },
    responses: { 201: { description: 'Created', content: voucherOut }, ...adminErrors },
  }),
  createSeckill: createRoute({
    method: 'post',
    path: '/vouchers/seckill',
    tags: ['vouchers'],
    summary: 'Create a flash-sale voucher (admin); its stock is preloaded into Redis',
    ...admin,
    request: { body: json(NewSeckillBody) },
    responses: { 201: { description: 'Created', content: voucherOut }, ...adminErrors },
  }),
  shopVouchers: createRoute({
    method: 'get',
    path: '/shops/{id}/vouchers',
    tags: ['vouchers'],
    summary: "A shop's vouchers, with flash-sale terms",
    request: { params: idParam },
    responses: {
      200: {
        description: 'Vouchers',
        content: { 'application/json': { schema: z.array(VoucherSchema) } },
      },
      400: problemResponse('Bad id'),
    },
  }),
  getOrder: createRoute({
    method: 'get',
    path: '/orders/{id}',
    tags: ['orders'],
    summary: 'An order of mine: pending → unpaid → paid | cancelled, or failed',
    ...user,
    request: { params: idParam },
    responses: {
      200: { description: 'The order', content: orderOut },
      401: problemResponse('No valid session'),
      404: problemResponse('No such order (of yours)'),
      503: problemResponse(
        'DEPENDENCY_UNAVAILABLE: Postgres or Redis unreachable; retry (an order still pending is answered from Redis meanwhile)'
      ),
    },
  }),
  pay: createRoute({
    method: 'post',
    path: '/orders/{id}/pay',
    tags: ['orders'],
    summary: 'Pay (simulated): unpaid → paid, idempotent',
    ...user,
    request: { params: idParam },
    responses: {
      200: { description: 'Paid', content: orderOut },
      401: problemResponse('No valid session'),
      404: problemResponse('No such order'),
      409: problemResponse('ORDER_PENDING (retry shortly) | ORDER_NOT_PAYABLE (cancelled/failed)'),
      503: problemResponse(
        'DEPENDENCY_UNAVAILABLE: Postgres or Redis unreachable; retry (pay and cancel are idempotent)'
      ),
    },
  }),
  cancel: createRoute({
    method: 'post',
    path: '/orders/{id}/cancel',
    tags: ['orders'],
    summary: 'Cancel an unpaid order; its stock is returned once (Postgres and Redis)',
    ...user,
    request: { params: idParam },
    responses: {
      200: { description: 'Cancelled', content: orderOut },
      401: problemResponse('No valid session'),
      404: problemResponse('No such order'),
      409: problemResponse('ORDER_PENDING | ORDER_NOT_CANCELLABLE (paid/failed)'),
      503: problemResponse(
        'DEPENDENCY_UNAVAILABLE: Postgres or Redis unreachable; retry (pay and cancel are idempotent)'
      ),
    },
  }),
  reconcile: createRoute({
    method: 'post',
    path: '/admin/seckill/reconcile',
    tags: ['admin'],
    summary: 'Compare Redis and Postgres per sale; report drift and (unless dryRun) repair it',
    ...admin,
    request: {
      body: {
        required: false,
        content: {
          'application/json': {
            schema: z.object({
              voucherId: IdString.optional(),
              dryRun: z.boolean().default(false),
            }),
          },
        },
      },
    },
    responses: {
      200: {
        description: 'Report',
        content: {
          'application/json': {
            schema: z.object({}).catchall(z.unknown()).openapi('ReconcileReport'),
          },
        },
      },
      ...adminErrors,
      404: problemResponse('NOT_FOUND: no such flash-sale voucher'),
      503: problemResponse(
        'DEPENDENCY_UNAVAILABLE: Redis, Postgres or the queue unreachable (a repair left undone is redone by the next run)'
      ),
    },
  }),
  relay: createRoute({
    method: 'post',
    path: '/admin/seckill/relay',
    tags: ['admin'],
    summary: 'Republish outbox entries that were never persisted (also runs on the cron)',
    ...admin,
    responses: {
      200: {
        description: 'Count',
        content: { 'application/json': { schema: z.object({ republished: z.number().int() }) } },
      },
      ...adminErrors,
    },
  }),
}

export const orderRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(routes.createVoucher, async (c) => {
    const voucher = await createVoucher(seckillDeps(c.var.deps), c.req.valid('json'))
    return c.json(voucherJson(voucher), 201)
  })
  .openapi(routes.createSeckill, async (c) => {
    const { stock, beginAt, endAt, perUserLimit, ...rest } = c.req.valid('json')
    const voucher = await createVoucher(seckillDeps(c.var.deps), {
      ...rest,
      seckill: { stock, beginAt: Date.parse(beginAt), endAt: Date.parse(endAt), perUserLimit },
    })
    return c.json(voucherJson(voucher), 201)
  })
  .openapi(routes.shopVouchers, async (c) => {
    const list = await c.var.deps.vouchers.listByShop(c.req.valid('param').id)
    return c.json(list.map(voucherJson), 200)
  })
  .openapi(routes.getOrder, async (c) => {
    const view = await orderStatus(
      seckillDeps(c.var.deps),
      c.req.valid('param').id,
      c.var.session!.user.id
    )
    return c.json(orderJson(view), 200)
  })
  .openapi(routes.pay, async (c) => {
    const order = await payOrder(
      seckillDeps(c.var.deps),
      c.req.valid('param').id,
      c.var.session!.user.id
    )
    return c.json(orderJson(order), 200)
  })
  .openapi(routes.cancel, async (c) => {
    const order = await cancelOrder(
      seckillDeps(c.var.deps),
      c.req.valid('param').id,
      c.var.session!.user.id
    )
    return c.json(orderJson(order), 200)
  })
  .openapi(routes.reconcile, async (c) => {
    const body = c.req.header('content-type')?.includes('json')
      ? c.req.valid('json')
      : { dryRun: false }
    const deps = seckillDeps(c.var.deps)
    const report = await reconcile(deps, {
      repair: !body.dryRun,
      graceMs: c.var.deps.config.seckill.reconcileGraceMs,
      ...(body.voucherId ? { voucherId: body.voucherId } : {}),
    })
    return c.json(report, 200)
  })
  .openapi(routes.relay, async (c) => c.json(await relayOutbox(seckillDeps(c.var.deps)), 200))
