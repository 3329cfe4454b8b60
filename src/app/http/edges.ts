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
 * (Scalar) keeps the defaults without a CSP, and HTML pages of public/ get a same-origin CSP. With CORS on,
 * Cross-Origin-Resource-Policy is relaxed so the allowed origins can read answers.
 */
export function securityHeaders(corsOn: boolean): MiddlewareHandler<AppEnv> {
  const crossOriginResourcePolicy = corsOn ? 'cross-origin' : 'same-origin'
  const api = secureHeaders({
    crossOriginResourcePolicy,
    contentSecurityPolicy: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
  })
  const page = secureHeaders({ crossOriginResourcePolicy })
  return async (c, next) => {
    if (c.req.path === '/docs') return page(c, next)
    await api(c, next)
    // Our own pages (public/, e.g. /sale/) load only same-origin files: no inline script.
    if (c.res.headers.get('content-type')?.startsWith('text/html')) {
      c.res.headers.set('content-security-policy', PAGE_CSP)
    }
  }
}

/** The CSP of the pages we serve from public/: same origin only, nothing inline but styles. */
const PAGE_CSP =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"

/**
 * For a request no route answered: 405 with `Allow` when the path is known under other methods
 * (TRACE and unknown methods included), 204 with `Allow` for OPTIONS on a known path, else null.
 */
export function methodNotAllowed(
  c: Context<AppEnv>,
  methodsOf: (path: string) => string[] | null
): Response | null {
  const allowed = methodsOf(c.req.path)
  if (!allowed) return null
  const allow = allowed.join(', ')
  if (c.req.method === 'OPTIONS') return c.body(null, 204, { allow })
  // A method the path has, but the route did not match (e.g. a bad parameter): 404, not 405.
  if (allowed.includes(c.req.method)) return null
  return problem(
    c,
    405,
    'METHOD_NOT_ALLOWED',
    `${c.req.method} is not allowed here`,
    { detail: `allowed: ${allow}` },
    { allow }
  )
}
