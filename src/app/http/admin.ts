import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/**
 * Compares two secrets in constant time: both are hashed first (SHA-256, Web Crypto), so neither
 * their contents nor their lengths leak through timing.
 */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder()
  const [x, y] = await Promise.all([
    crypto.subtle.digest('SHA-256', enc.encode(a)),
    crypto.subtle.digest('SHA-256', enc.encode(b)),
  ])
  const u = new Uint8Array(x)
  const v = new Uint8Array(y)
  let diff = 0
  for (let i = 0; i < u.length; i++) diff |= u[i]! ^ v[i]!
  return diff === 0
}

/** The bearer token of `Authorization: Bearer <token>`, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i)
  return match?.[1] ?? null
}

/**
 * Guards admin routes with `Authorization: Bearer <ADMIN_TOKEN>`. Without ADMIN_TOKEN configured
 * every admin call is refused (403), so a forgotten secret never opens the door.
 */
export const requireAdmin: MiddlewareHandler<AppEnv> = async (c, next) => {
  const expected = c.var.deps.config.adminToken
  if (!expected) {
    return problem(c, 403, 'ADMIN_DISABLED', 'Admin API is disabled: ADMIN_TOKEN is not set')
  }
  const given = bearerToken(c.req.header('authorization'))
  if (!given || !(await secretsEqual(given, expected))) {
    return problem(
      c,
      401,
      'ADMIN_UNAUTHORIZED',
      'A valid admin bearer token is required',
      {},
      {
        'www-authenticate': 'Bearer realm="admin"',
      }
    )
  }
  await next()
}
