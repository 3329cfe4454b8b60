import type { Context, MiddlewareHandler } from 'hono'
import { cors } from 'hono/cors'
import { secureHeaders } from 'hono/secure-headers'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/**
 * CORS for the origins in CORS_ORIGINS (off when unset): preflight OPTIONS answers 204 with the
 * allowed methods and headers; the problem and request-id headers are exposed to scripts.
 */
export function corsFor(origins: readonly string[] | '*' | null): MiddlewareHandler<AppEnv> {
  if (!origins) return async (_c, next) => next()
  const handle = cors({
    origin: origins === '*' ? '*' : [...origins],
    allowMethods: ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS'],
    allowHeaders: ['authorization', 'content-type', 'idempotency-key'],
    exposeHeaders: ['x-request-id', 'retry-after', 'x-cache', 'x-degraded'],
    maxAge: 600,
  })
  // An OPTIONS that is not a preflight is a plain "which methods?" question (answered with Allow).
  return (c, next) =>
    c.req.method === 'OPTIONS' && !c.req.header('access-control-request-method')
      ? next()
      : handle(c, next)
}

/**
 * Standard security headers (hono's secureHeaders): nosniff, no framing, no referrer, HSTS, …
 * API answers also get a CSP that allows nothing (they are data, never documents); the /docs page
 * (Scalar, which loads its script from a CDN) keeps the defaults without a CSP. With CORS on,
 * Cross-Origin-Resource-Policy is relaxed so the allowed origins can read answers.
 */
export function securityHeaders(corsOn: boolean): MiddlewareHandler<AppEnv> {
  const crossOriginResourcePolicy = corsOn ? 'cross-origin' : 'same-origin'
  const api = secureHeaders({
    crossOriginResourcePolicy,
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  })
  const page = secureHeaders({ crossOriginResourcePolicy })
  return (c, next) => (c.req.path === '/docs' ? page(c, next) : api(c, next))
}

/**
 * For a request no route answered: 405 with `Allow` when the path is known under other methods
 * (TRACE and unknown methods included), 204 with `Allow` for OPTIONS on a known path, else null.
 */
export function methodNotAllowed(
  c: Context<AppEnv>,
  methodsOf: (path: string) => string[] | null
): Response | null {
  const allowed = methodsOf(c.req.path)
  // Unknown path, or a method the path has (the route just did not match, e.g. a bad parameter):
  // that is a 404, not a 405.
  if (!allowed || allowed.includes(c.req.method)) return null
  const allow = allowed.join(', ')
  if (c.req.method === 'OPTIONS') return c.body(null, 204, { allow })
  return problem(
    c,
    405,
    'METHOD_NOT_ALLOWED',
    `${c.req.method} is not allowed here`,
    { detail: `allowed: ${allow}` },
    { allow }
  )
}
