import type { Hook } from '@hono/zod-openapi'
import type { MiddlewareHandler, Next } from 'hono'
import type { AppEnv } from './env.ts'
import { fitsInt8 } from './fields.ts'
import { problem } from './problem.ts'

/** Every route's validation failures become one 400 problem naming each offending field. */
// biome-ignore lint/suspicious/noExplicitAny: the hook is shared by routes of every input type
export const validationHook: Hook<any, AppEnv, any, any> = (result, c) => {
  if (result.success) return
  const errors = result.error.issues.map((issue) => ({
    path: [result.target, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  const fields = errors.map((e) => e.path).join(', ')
  return problem(c, 400, 'VALIDATION_FAILED', 'Request validation failed', {
    detail: `invalid: ${fields}`,
    errors,
  })
}

/** The checks of IdString (routes/users.ts) and of PurchaseHeaders' key (routes/seckill.ts). */
const DECIMAL_ID = /^[1-9]\d{0,18}$/
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,64}$/

/**
 * Route middleware of the purchase routes (`{id}` path parameter, optional `Idempotency-Key`): when
 * both pass checks that imply the route's zod schemas accept them, it records the same validated
 * data and calls `handler` itself, skipping the route's two zod validators (which build every
 * request header into an object and parse asynchronously: several % of a refused purchase's CPU).
 * Anything else goes on (`next`) to the route's own validators, which answer exactly as before.
 */
export function purchaseInputs(
  handler: (c: never, next: Next) => unknown
): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    const id = c.req.param('id')
    const key = c.req.header('idempotency-key')
    if (
      id === undefined ||
      !DECIMAL_ID.test(id) ||
      !fitsInt8(id) ||
      (key !== undefined && !IDEMPOTENCY_KEY.test(key))
    ) {
      return next()
    }
    c.req.addValidatedData('param', { id })
    c.req.addValidatedData('header', key === undefined ? {} : { 'idempotency-key': key })
    return handler(c as never, next) as Promise<Response>
  }
}
