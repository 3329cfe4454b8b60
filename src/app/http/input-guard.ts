import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/**
 * Rejects NUL characters before any route sees them: Postgres cannot store U+0000 in text, so a
 * NUL anywhere in the query string or in a JSON body's strings (keys included) answers 400
 * VALIDATION_FAILED naming each field, on every route (new routes included). Signed queue
 * deliveries (/internal/) are left alone: their signature is checked over the raw body first.
 */
export const rejectNul: MiddlewareHandler<AppEnv> = (c, next) => {
  // Most requests have no JSON body and no NUL in the URL: on they go without an async step.
  const href = c.req.url
  if (!/json/i.test(c.req.header('content-type') ?? '') && !mayHoldNul(href)) return next()
  return checkNul(c, next)
}

const mayHoldNul = (href: string) => href.includes('%00') || href.includes('\u0000')

const checkNul: MiddlewareHandler<AppEnv> = async (c, next) => {
  const paths: string[] = []
  const href = c.req.url
  // The URL is parsed only when it could hold a NUL (the common request skips the parse).
  if (mayHoldNul(href)) {
    for (const [name, value] of new URL(href).searchParams) {
      if (name.includes('\u0000') || value.includes('\u0000')) paths.push(`query.${name}`)
    }
  }
  if (
    /json/i.test(c.req.header('content-type') ?? '') &&
    !new URL(href).pathname.startsWith('/internal/') &&
    c.req.raw.body
  ) {
    const text = await c.req.text()
    if (/\\u0000/i.test(text)) {
      try {
        collectNul(JSON.parse(text), 'json', paths)
      } catch {
        // Malformed JSON: the route's validator answers it.
      }
    }
  }
  if (paths.length === 0) return next()
  return problem(c, 400, 'VALIDATION_FAILED', 'Request validation failed', {
    detail: `invalid: ${paths.join(', ')}`,
    errors: paths.map((path) => ({ path, message: 'must not contain NUL (U+0000) characters' })),
  })
}

function collectNul(value: unknown, path: string, out: string[]): void {
  if (typeof value === 'string') {
    if (value.includes('\u0000')) out.push(path)
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) collectNul(v, `${path}.${i}`, out)
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k.includes('\u0000')) out.push(`${path}.${k.replaceAll('\u0000', '\\u0000')}`)
      else collectNul(v, `${path}.${k}`, out)
    }
  }
}
