import { createRoute, OpenAPIHono, type RouteHandler, z } from '@hono/zod-openapi'
import { DomainError } from '../../../domain/errors.ts'
import { sessionToken } from '../../http/auth.ts'
import type { AppEnv } from '../../http/env.ts'
import { purchaseInputs } from '../../http/validation.ts'
import { admit, PurchaseHeaders } from '../seckill.ts'
import {
  hmdpValidationHook,
  IdParam,
  messageOf,
  ok,
  okResponse,
  refuse,
  responses,
  TAG,
} from './envelope.ts'

const route = createRoute({
  method: 'post',
  path: '/voucher-order/seckill/{id}',
  tags: [TAG],
  summary: 'Buy a flash-sale voucher; `data` is the order id (a string)',
  description:
    'The same admission as `POST /vouchers/{id}/seckill` (the per-session rate limit, then one atomic Lua step: window, per-user limit, stock, the sale admission bucket, outbox; persisted through the queue). Refusals, HTTP 200: "库存不足" (SOLD_OUT), "不允许重复下单" (ALREADY_PURCHASED), "秒杀尚未开始！", "秒杀已经结束！", "优惠券不存在", "操作太频繁，请稍后再试" (RATE_LIMITED, Retry-After). An `Idempotency-Key` replays the first outcome. At most two Redis round trips, like the native route.',
  security: [{ bearerAuth: [] }],
  request: {
    params: IdParam,
    headers: PurchaseHeaders,
  },
  responses: {
    200: okResponse(
      z.string().openapi({ example: '1264871526048645121' }),
      'HmdpOrderId',
      'Reserved'
    ),
    400: responses.badRequest,
    401: responses.unauthorized,
    503: responses.unavailable,
  },
})

/**
 * Like the native hot path, this route authenticates itself (it is mounted before the global
 * session middleware) and admits through the same `admit`: at most two Redis round trips.
 */
const purchase: RouteHandler<typeof route, AppEnv> = async (c) => {
  const deps = c.var.deps
  const token = sessionToken(c.req.header('authorization'))
  if (!token) return refuse(c, 401, '请先登录', 'UNAUTHORIZED')
  try {
    const id = c.req.valid('param').id
    const admission = await admit(deps, token, id, c.req.valid('header')['idempotency-key'])
    if (admission.kind === 'unauthorized') return refuse(c, 401, '请先登录', 'UNAUTHORIZED')
    // What hmdpErrorHandler answers for a thrown DomainError of this code: 200, its message.
    if (admission.kind === 'refused') {
      return refuse(c, 200, messageOf(admission), admission.code)
    }
    if (admission.kind === 'rate-limited') {
      const { retryAfterMs } = admission
      throw new DomainError('RATE_LIMITED', 'too many requests', { retryAfterMs })
    }
    if (admission.replayed) c.header('idempotent-replayed', 'true')
    return ok(c, admission.orderId)
  } catch (e) {
    if (e instanceof DomainError && e.code === 'NOT_FOUND') {
      return refuse(c, 200, messageOf(e, { NOT_FOUND: '优惠券不存在' }), 'VOUCHER_NOT_FOUND')
    }
    throw e
  }
}

/** Well-formed inputs skip the zod validators (`purchaseInputs`), as on the native route. */
export const hmdpSeckill = new OpenAPIHono<AppEnv>({ defaultHook: hmdpValidationHook }).openapi(
  { ...route, middleware: [purchaseInputs(purchase)] as const },
  purchase
)
