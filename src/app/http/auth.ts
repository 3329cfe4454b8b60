import type { MiddlewareHandler } from 'hono'
import { authenticate } from '../../domain/auth/auth.ts'
import { DependencyUnavailable } from '../../domain/errors.ts'
import type { Deps } from '../deps.ts'
import { cookieToken, csrfRefusal } from './cookie-session.ts'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/** The auth use cases' dependencies, from the request's dependency scope. */
export function authDeps(deps: Deps) {
  return { ...deps, sender: deps.codeSender, policy: deps.config.auth }
}

/**
 * The session token of a request: `Authorization: Bearer <token>`, or the bare
 * `authorization: <token>` the original hmdp clients send.
 */
export function sessionToken(header: string | undefined): string | null {
  if (!header) return null
  const value = header.trim()
  const bearer = value.match(/^Bearer\s+(\S+)$/i)
  if (bearer) return bearer[1]!
  return /^\S+$/.test(value) ? value : null
}

/**
 * Runs on every route: when a valid token is present (bearer, or in cookie mode the session cookie
 * of a request that passes the CSRF check), loads the session (renewing it when due)
 * into `c.var.session`. It never rejects; if the session store is unreachable the request goes on
 * anonymously and `requireUser` answers 503 instead of a misleading 401.
 */
export const loadSession: MiddlewareHandler<AppEnv> = async (c, next) => {
  const bearer = sessionToken(c.req.header('authorization'))
  const cookie = bearer ? null : cookieToken(c) // browser sessions: see cookie-session.ts
  if (cookie) {
    const refusal = await csrfRefusal(c)
    if (refusal) return refusal
  }
  const token = bearer ?? cookie
  if (token) {
    try {
      const session = await authenticate(authDeps(c.var.deps), token)
      if (session) c.set('session', session)
    } catch (e) {
      if (!(e instanceof DependencyUnavailable)) throw e
      c.set('sessionUnavailable', e)
    }
  }
  await next()
}

/** Guards protected routes: 401 problem+json without a live session. */
export const requireUser: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.session) {
    const unavailable = c.var.sessionUnavailable
    if (unavailable) throw unavailable
    return problem(
      c,
      401,
      'UNAUTHORIZED',
      'Log in first: a valid session token is required',
      {},
      {
        'www-authenticate': 'Bearer',
      }
    )
  }
  await next()
}
