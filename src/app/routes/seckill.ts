import { createRoute, OpenAPIHono, type RouteHandler, z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import { readSession, renewIfDue } from '../../domain/auth/auth.ts'
import { DomainError } from '../../domain/errors.ts'
import type { RateVerdict } from '../../domain/ports/rate-limiter.ts'
import type { Refusal } from '../../domain/ports/stock.ts'
import { type SeckillDeps, tryReserve } from '../../domain/seckill/seckill.ts'
import type { Deps } from '../deps.ts'
import { authDeps, sessionToken } from '../http/auth.ts'
import { cookieToken, csrfRefusal } from '../http/cookie-session.ts'
import type { AppEnv } from '../http/env.ts'
import { problem, problemResponse, STATUS_OF } from '../http/problem.ts'
import { purchaseInputs, validationHook } from '../http/validation.ts'
import { IdString } from './users.ts'

/** The flash-sale use cases' dependencies, from the request's dependency scope. */
export function seckillDeps(deps: Omit<Deps, 'topics'>): SeckillDeps {
  return { ...deps, policy: deps.config.seckill }
}

const Accepted = z
  .object({
    orderId: z.string().openapi({ example: '1264871526048645121', description: 'Decimal string' }),
    status: z.literal('pending'),
  })
  .openapi('SeckillAccepted')

/** The purchase routes' headers: an optional `Idempotency-Key` (native and hmdp alike). */
export const PurchaseHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'up to 64 of A-Z a-z 0-9 _ . : -')
    .optional(),
})

const route = createRoute({
  method: 'post',
  path: '/vouchers/{id}/seckill',
  tags: ['flash sale'],
  summary: 'Grab a flash-sale voucher',
  description: `Admission is one atomic Redis script (window, per-user limit, stock, the sale's admission bucket, outbox); the order is persisted asynchronously through the queue, so the answer is 202 with a pending order id — poll \`GET /orders/{id}\`.

Refusals are 409 problem+json: \`SOLD_OUT\`, \`ALREADY_PURCHASED\`, \`SALE_NOT_STARTED\`, \`SALE_ENDED\`; 429 \`RATE_LIMITED\` when a token bucket is empty: \`scope: "user"\` for the session's own bucket, \`scope: "global"\` for the sale's admission bucket, which only requests that would be accepted spend (no session, an empty session bucket or a refusal spend none of it). With an \`Idempotency-Key\` a retried request gets its acceptance again (\`Idempotent-Replayed: true\`); refusals are not recorded and are answered afresh.

Hot-path budget: at most two Redis HTTP round trips (session + the session's bucket + order id share one pipelined request; the reservation, with the sale's admission bucket in the same script, is the second), and the queue publish happens after the response.`,
  security: [{ bearerAuth: [] }],
  request: {
    params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }),
    headers: PurchaseHeaders,
  },
  responses: {
    202: {
      description: 'Reserved; persisting',
      content: { 'application/json': { schema: Accepted } },
    },
    400: problemResponse('Bad id or idempotency key'),
    401: problemResponse('No valid session'),
    404: problemResponse('No such flash-sale voucher'),
    409: problemResponse('SOLD_OUT | ALREADY_PURCHASED | SALE_NOT_STARTED | SALE_ENDED'),
    429: problemResponse('RATE_LIMITED (RateLimit-* and Retry-After headers)'),
    503: problemResponse('Redis unreachable: nothing was reserved'),
  },
})

const OPEN: RateVerdict = { success: true, limit: 0, remaining: 0, resetAt: 0 }

function rateHeaders(v: RateVerdict, now: number): Record<string, string> {
  if (v.limit === 0) return {}
  return {
    'ratelimit-limit': String(v.limit),
    'ratelimit-remaining': String(v.remaining),
    'ratelimit-reset': String(Math.max(0, Math.ceil((v.resetAt - now) / 1000))),
  }
}

/** Like Promise.all, but waits for every promise before rethrowing (nothing left unobserved). */
async function settled<T extends readonly unknown[]>(
  work: T
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(work)
  const failed = results.find((r) => r.status === 'rejected')
  if (failed) throw (failed as PromiseRejectedResult).reason
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as never
}

function setHeaders(c: Context, headers: Record<string, string>) {
  for (const [k, v] of Object.entries(headers)) c.header(k, v)
}

/** What the flash-sale admission decided. */
export type Admission =
  | { kind: 'unauthorized' }
  /** The sale refused (SOLD_OUT, …): a value, not a thrown DomainError (no stack per refusal). */
  | { kind: 'refused'; code: Refusal; message: string }
  | { kind: 'rate-limited'; scope: 'user' | 'global'; retryAfterMs: number; perUser: RateVerdict }
  | { kind: 'accepted'; orderId: string; replayed: boolean; perUser: RateVerdict }

/**
 * The purchase admission shared by every purchase route (native and hmdp): the session read, the
 * session's token bucket and the order id are issued in the same tick and share one pipelined
 * Redis request; the reservation (with a due session renewal) is the second. The sale's admission
 * bucket is checked inside the reservation's script, so a request without a valid session, or
 * refused by its own bucket, stops after the first round trip having spent none of it (made-up
 * tokens cannot push real buyers into 429). The queue publish runs after the response
 * (deps.background → waitUntil). Sale refusals (SOLD_OUT, …) are returned as `refused`.
 */
export async function admit(
  deps: Deps,
  token: string,
  voucherId: string,
  idempotencyKey: string | undefined
): Promise<Admission> {
  const [session, perUser, orderId] = await settled([
    readSession(deps, token),
    deps.userLimiter?.limit(`s:${token}`) ?? OPEN,
    deps.ids.next('order'),
  ] as const)
  if (!session) return { kind: 'unauthorized' }
  if (!perUser.success) {
    const retryAfterMs = Math.max(0, perUser.resetAt - deps.clock.now())
    return { kind: 'rate-limited', scope: 'user', retryAfterMs, perUser }
  }
  try {
    const [result] = await settled([
      tryReserve(seckillDeps(deps), {
        voucherId,
        userId: session.user.id,
        orderId,
        idempotencyKey,
      }),
      // Best effort: a failed renewal only means the session is renewed on a later request.
      renewIfDue(authDeps(deps), session).catch(() => session),
    ] as const)
    if ('refused' in result)
      return { kind: 'refused', code: result.refused, message: result.message }
    return { kind: 'accepted', orderId: result.orderId, replayed: result.replayed, perUser }
  } catch (e) {
    // The sale's admission bucket is empty (nothing was reserved): the same 429 as ever.
    if (!(e instanceof DomainError && e.code === 'RATE_LIMITED')) throw e
    const retryAfterMs = Number(e.details?.retryAfterMs ?? 0)
    return { kind: 'rate-limited', scope: 'global', retryAfterMs, perUser }
  }
}

/** The purchase: see `seckillHotPath`. */
const purchase: RouteHandler<typeof route, AppEnv> = async (c) => {
  const deps = c.var.deps
  const bearer = sessionToken(c.req.header('authorization'))
  const cookie = bearer ? null : cookieToken(c) // browser sessions: see cookie-session.ts
  const refusal = cookie && (await csrfRefusal(c))
  if (refusal) return refusal as never
  const token = bearer ?? cookie
  const unauthorized = () =>
    problem(
      c,
      401,
      'UNAUTHORIZED',
      'Log in first: a valid session token is required',
      {},
      {
        'www-authenticate': 'Bearer',
      }
    ) as never
  if (!token) return unauthorized()
  const id = c.req.valid('param').id
  const admission = await admit(deps, token, id, c.req.valid('header')['idempotency-key'])
  if (admission.kind === 'unauthorized') return unauthorized()
  // The same problem+json the error handler renders for a thrown DomainError of this code.
  if (admission.kind === 'refused') {
    return problem(c, STATUS_OF[admission.code], admission.code, admission.message) as never
  }
  setHeaders(c, rateHeaders(admission.perUser, deps.clock.now()))
  if (admission.kind === 'rate-limited') {
    const { scope, retryAfterMs } = admission
    return problem(
      c,
      429,
      'RATE_LIMITED',
      'Too many requests: slow down',
      { scope, retryAfterMs },
      { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
    ) as never
  }
  if (admission.replayed) c.header('idempotent-replayed', 'true')
  return c.json({ orderId: admission.orderId, status: 'pending' as const }, 202)
}

/**
 * The hot path. It authenticates on its own (it is mounted before the global session middleware)
 * so that `admit` can pipeline the session read with the rate limits and the order id. Well-formed
 * inputs skip the zod validators (`purchaseInputs`); malformed ones get the validators' 400.
 */
export const seckillHotPath = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  { ...route, middleware: [purchaseInputs(purchase)] as const },
  purchase
)
