import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { streamSSE } from 'hono/streaming'
import { DomainError } from '../../domain/errors.ts'
import {
  FINAL_SEQ,
  type OrderEvent,
  orderChannel,
  orderEvent,
  parseOrderEvent,
  STOCK_WATCH_EVERY_MS,
} from '../../domain/seckill/live.ts'
import { orderStatus } from '../../domain/seckill/seckill.ts'
import { requireAdmin } from '../http/admin.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { Inbox, lastEventId, liveStream, RETRY_MS } from '../http/sse.ts'
import { validationHook } from '../http/validation.ts'
import { idParam, orderJson } from './orders.ts'
import { seckillDeps } from './seckill.ts'
import { IdString } from './users.ts'

const sse = (description: string) => ({
  description,
  content: { 'text/event-stream': { schema: z.string() } },
})

const StockSchema = z
  .object({
    voucherId: IdString,
    stock: z.number().int().openapi({ description: 'Units left (the Redis ledger)' }),
    initialStock: z.number().int(),
    soldOut: z.boolean(),
    beginAt: z.string().openapi({ format: 'date-time' }),
    endAt: z.string().openapi({ format: 'date-time' }),
  })
  .openapi('SaleStock')

const CountersSchema = z
  .object({
    voucherId: IdString,
    stock: z.number().int().nullable().openapi({ description: 'Redis ledger; null = not loaded' }),
    initialStock: z.number().int(),
    accepted: z.number().int().openapi({ description: 'Reservations the ledger admitted' }),
    pending: z.number().int().openapi({ description: 'Admitted, not yet persisted (outbox)' }),
    persisted: z.number().int().openapi({ description: 'Orders in Postgres (not failed)' }),
    unpaid: z.number().int(),
    paid: z.number().int(),
    cancelled: z.number().int(),
    failed: z.number().int().openapi({ description: 'Reservations released as failed (ledger)' }),
    deadLetters: z
      .number()
      .int()
      .openapi({ description: 'Orders recorded as failed by the dead-letter handler (Postgres)' }),
    drift: z
      .object({
        ledgerStock: z.number().int().openapi({ description: 'stock − (initial − held)' }),
        databaseStock: z.number().int().openapi({ description: 'stock − (initial − live orders)' }),
        buyersOff: z.number().int(),
      })
      .openapi({ description: 'What reconciliation would repair; all zero when consistent' }),
  })
  .openapi('SaleCounters')

const routes = {
  orderEvents: createRoute({
    method: 'get',
    path: '/orders/{id}/events',
    tags: ['orders'],
    summary: "Live order status (Server-Sent Events): my order's states until it is final",
    description: `\`event: status\` with the order (as \`GET /orders/{id}\`), \`id:\` = the state's sequence number (pending 1, unpaid 2, paid | cancelled | failed 3). The first event is the current state; the stream ends after a final state. Reconnect with \`Last-Event-ID\` to get only newer states (missed intermediate states are skipped: each event is the whole order). Comment lines every 15 s keep it alive. Notifications are at most once: if the broker connection drops the stream ends and the browser reconnects (\`retry: ${RETRY_MS}\`). A client that cannot stream polls \`GET /orders/{id}\`.`,
    security: [{ bearerAuth: [] }],
    middleware: [requireUser] as const,
    request: {
      params: idParam,
      headers: z.object({
        'last-event-id': z
          .string()
          .regex(/^\d{1,6}$/, 'a state sequence number')
          .optional(),
      }),
    },
    responses: {
      200: sse('`event: status` (data: an Order) per state; ends at a final state'),
      400: problemResponse('Bad id or Last-Event-ID'),
      401: problemResponse('No valid session'),
      404: problemResponse('No such order (of yours)'),
      503: problemResponse('The broker (Redis) is unreachable'),
    },
  }),
  saleEvents: createRoute({
    method: 'get',
    path: '/vouchers/{id}/events',
    tags: ['vouchers'],
    summary: 'Live remaining stock of a flash sale (Server-Sent Events)',
    description: `\`event: stock\` (SaleStock) now and whenever stock changes, at most one every ${STOCK_WATCH_EVERY_MS} ms (one poller per sale and process — on Workers, per sale and live hub object — serves every viewer; nothing is added to the buyers' hot path); \`soldOut\` when none is left (cancellations can bring stock back). Comment lines every 15 s. A client that cannot stream polls \`GET /shops/{id}/vouchers\`.`,
    request: { params: idParam },
    responses: {
      200: sse('`event: stock` (data: a SaleStock) now and on every change'),
      400: problemResponse('Bad id'),
      404: problemResponse('No such flash-sale voucher'),
      503: problemResponse('The broker (Redis) is unreachable'),
    },
  }),
  counters: createRoute({
    method: 'get',
    path: '/admin/seckill/{id}/counters',
    tags: ['admin'],
    summary: "A sale's live counters (admin): accepted, persisted, pending, failed, drift",
    description:
      'Reads the whole sale (ledger records and Postgres orders): meant for a dashboard polling every few seconds, not for the hot path.',
    security: [{ adminBearer: [] }],
    middleware: [requireAdmin] as const,
    request: { params: idParam },
    responses: {
      200: { description: 'Counters', content: { 'application/json': { schema: CountersSchema } } },
      400: problemResponse('Bad id'),
      401: problemResponse('ADMIN_UNAUTHORIZED'),
      403: problemResponse('ADMIN_DISABLED (ADMIN_TOKEN unset)'),
      404: problemResponse('No such flash-sale voucher'),
    },
  }),
}

const noSale = (voucherId: string) =>
  new DomainError('NOT_FOUND', 'no such flash-sale voucher', { voucherId })

export const liveRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(routes.orderEvents, async (c) => {
    const deps = c.var.deps
    const orderId = c.req.valid('param').id
    let sent = lastEventId(c.req.valid('header')['last-event-id'])
    const inbox = new Inbox<OrderEvent>()
    // Subscribe first, then read: a change between the two is in the inbox, not lost.
    const sub = await deps.live.broadcast.subscribe(orderChannel(orderId), {
      message: (m) => {
        const e = parseOrderEvent(m)
        if (e && e.id === orderId) inbox.push(e)
      },
      reset: () => inbox.end(),
    })
    let current: OrderEvent
    try {
      current = orderEvent(await orderStatus(seckillDeps(deps), orderId, c.var.session!.user.id))
    } catch (e) {
      sub.close()
      throw e
    }
    return streamSSE(c, (stream) =>
      liveStream(stream, deps.clock, inbox, sub.close, async () => {
        const send = async (e: OrderEvent) => {
          if (e.seq <= sent) return
          sent = e.seq
          await stream.writeSSE({
            event: 'status',
            id: String(e.seq),
            data: JSON.stringify(orderJson(e)),
          })
        }
        await stream.write(`retry: ${RETRY_MS}\n\n`)
        await send(current)
        while (sent < FINAL_SEQ) {
          const events = await inbox.take()
          if (events.length === 0) return
          for (const e of events) await send(e)
        }
      })
    ) as never
  })
  .openapi(routes.saleEvents, async (c) => {
    const deps = c.var.deps
    const voucherId = c.req.valid('param').id
    const voucher = await deps.vouchers.findById(voucherId)
    if (!voucher?.seckill) throw noSale(voucherId)
    const s = voucher.seckill
    const inbox = new Inbox<number>()
    // Watch first, then read: a change after the read arrives through the watch (on Workers with
    // the live hub bound, the watch is the hub object's poller, attached before this resolves).
    const unwatch = await deps.live.stock.watch(voucherId, {
      stock: (stock) => inbox.push(stock),
      lost: () => inbox.end(),
    })
    let stock: number
    try {
      stock = (await deps.ledger.remaining(voucherId)) ?? s.stock
    } catch (e) {
      unwatch()
      throw e
    }
    const snapshot = {
      voucherId,
      initialStock: s.initialStock,
      beginAt: new Date(s.beginAt).toISOString(),
      endAt: new Date(s.endAt).toISOString(),
    }
    return streamSSE(c, (stream) =>
      liveStream(stream, deps.clock, inbox, unwatch, async () => {
        const send = (value: number) => {
          stock = value
          const data = { ...snapshot, stock: value, soldOut: value <= 0 }
          return stream.writeSSE({ event: 'stock', data: JSON.stringify(data) })
        }
        await stream.write(`retry: ${RETRY_MS}\n\n`)
        await send(stock)
        for (;;) {
          const values = await inbox.take()
          if (values.length === 0) return
          const latest = values.at(-1)!
          if (latest !== stock) await send(latest)
        }
      })
    ) as never
  })
  .openapi(routes.counters, async (c) => {
    const deps = c.var.deps
    const voucherId = c.req.valid('param').id
    const voucher = await deps.vouchers.findById(voucherId)
    if (!voucher?.seckill) throw noSale(voucherId)
    const [audit, orders, db] = await Promise.all([
      deps.ledger.audit(voucherId, false),
      deps.orders.listByVoucher(voucherId),
      deps.orders.auditStock(voucherId, false),
    ])
    const count = (status: string) => orders.filter((o) => o.status === status).length
    const deadLetters = count('failed')
    return c.json(
      {
        voucherId,
        stock: audit?.stock ?? null,
        initialStock: voucher.seckill.initialStock,
        accepted: audit ? audit.pending + audit.committed + audit.cancelled + audit.failed : 0,
        pending: audit?.pending ?? 0,
        persisted: orders.length - deadLetters,
        unpaid: count('unpaid'),
        paid: count('paid'),
        cancelled: count('cancelled'),
        failed: audit?.failed ?? 0,
        deadLetters,
        drift: {
          ledgerStock: audit ? audit.stock - audit.expectedStock : 0,
          databaseStock: db ? db.stock - db.expected : 0,
          buyersOff: audit?.buyersOff ?? 0,
        },
      },
      200
    )
  })

// The payload of `event: stock`, documented as a component for clients.
liveRoutes.openAPIRegistry.register('SaleStock', StockSchema)
