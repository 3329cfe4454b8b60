import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { csrf } from 'hono/csrf'
import { HTTPException } from 'hono/http-exception'
import type { Session } from '../../domain/ports/session.ts'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/**
 * Browser sessions (seed 000), opt-in with SESSION_COOKIE=on: the session token also travels in an
 * `HttpOnly; Secure; SameSite=Lax` cookie with the `__Host-` prefix (so no subdomain can set or
 * scope it), set at login and cleared at logout. A bearer header always wins over the cookie, and
 * only cookie-authenticated unsafe requests are checked for CSRF — bearer clients are unaffected.
 */
export const SESSION_COOKIE = '__Host-session'
const NAME = 'session' // hono adds the __Host- prefix (and enforces Secure, Path=/, no Domain)

/**
 * The session token from the cookie, when cookie mode is on and it is present. Callers use it only
 * when no bearer token was sent, and must pass the request through `csrfRefusal` first.
 */
export function cookieToken(c: Context<AppEnv>): string | null {
  if (!c.var.deps.config.browser.cookie) return null
  return getCookie(c, NAME, 'host') || null
}

/** At login (cookie mode): the cookie lives as long as the session could, renewals included. */
export function setSessionCookie(c: Context<AppEnv>, session: Session): void {
  const { config } = c.var.deps
  if (!config.browser.cookie) return
  const { ttlMs, maxRenewals } = config.auth.session
  setCookie(c, NAME, session.token, {
    path: '/',
    secure: true,
    httpOnly: true,
    sameSite: 'Lax',
    maxAge: Math.ceil((ttlMs * (maxRenewals + 1)) / 1000),
    prefix: 'host',
  })
}

/** At logout (cookie mode). */
export function clearSessionCookie(c: Context<AppEnv>): void {
  if (!c.var.deps.config.browser.cookie) return
  deleteCookie(c, NAME, { path: '/', secure: true, prefix: 'host' })
}

const guard = csrf({
  origin: (origin, c) =>
    origin === new URL(c.req.url).origin ||
    (c as Context<AppEnv>).var.deps.config.browser.allowedOrigins.includes(origin),
  secFetchSite: 'same-origin',
})

/**
 * CSRF check for a cookie-authenticated request (hono's `csrf`: an unsafe request that a form or
 * another site could send must come from an allowed `Origin` or carry `Sec-Fetch-Site:
 * same-origin`). Returns the 403 problem response to send, or null when the request may go on.
 * Requests authenticated by a bearer token, and safe methods, are never refused.
 */
export async function csrfRefusal(c: Context<AppEnv>): Promise<Response | null> {
  try {
    await guard(c, async () => {})
    return null
  } catch (e) {
    if (!(e instanceof HTTPException) || e.status !== 403) throw e
    return problem(
      c,
      403,
      'CSRF_REJECTED',
      'Cross-site request refused: cookie-authenticated writes need an allowed Origin (or use a bearer token)'
    )
  }
}
