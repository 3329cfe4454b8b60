import type { Context, MiddlewareHandler } from 'hono'
import { recordVisit, visitorOf } from '../../domain/social/visitors.ts'
import type { Deps } from '../deps.ts'
import type { AppEnv } from './env.ts'

/** The social use cases' dependencies, from the request's dependency scope. */
export function socialDeps(deps: Omit<Deps, 'topics'>) {
  return { ...deps, policy: deps.config.social, timeZone: deps.config.social.timeZone }
}

/**
 * GETs that are not page views: probes, docs, admin and stats, queue deliveries, and `/users/me…`
 * (the client's session and account calls, made alongside every page).
 */
const NOT_A_PAGE = /^\/(health|docs|openapi\.json|stats|admin|internal|users\/me)(\/|$)/

/**
 * The client address: Cloudflare's `CF-Connecting-IP` (set by the edge, not spoofable there), else
 * the first `X-Forwarded-For` hop or `X-Real-IP` from a proxy in front of the Node server.
 */
export function clientIp(c: Context): string | null {
  const cf = c.req.header('cf-connecting-ip')?.trim()
  if (cf) return cf
  const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim()
  if (forwarded) return forwarded
  return c.req.header('x-real-ip')?.trim() || null
}

/**
 * Counts unique visitors (UV): every successful GET page view records the user id (logged in) or
 * the client address into today's HyperLogLog. It runs after the response, through
 * `deps.background` (waitUntil), so it never adds a round trip to a request's latency, and the
 * composition root dedupes per isolate (one write per visitor per day per isolate). Other methods
 * (e.g. the flash-sale POST, which has its own budget) are not counted. UV_TRACKING=off switches
 * it off.
 */
export const trackVisitors: MiddlewareHandler<AppEnv> = async (c, next) => {
  await next()
  const deps = c.var.deps
  if (!deps?.config.social.uvTracking || c.req.method !== 'GET' || c.res.status >= 400) return
  if (NOT_A_PAGE.test(c.req.path)) return
  const visitor = visitorOf(c.var.session?.user.id ?? null, clientIp(c))
  if (visitor) deps.background(recordVisit(socialDeps(deps), visitor))
}
