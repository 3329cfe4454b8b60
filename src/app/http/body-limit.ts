import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/** Largest JSON body of the public and admin API (a blog post is ~20 KB at most). */
export const JSON_BODY_LIMIT = 64 * 1024
/** Largest queue delivery / failure callback (QStash's own message limit is 1 MB, base64 grows it). */
export const QUEUE_BODY_LIMIT = 2 * 1024 * 1024

const limited = (maxSize: number) =>
  bodyLimit({
    maxSize,
    // The unread rest of the body is still on the wire: close the connection after answering so
    // the client does not reuse it.
    onError: (c) =>
      problem(
        c,
        413,
        'PAYLOAD_TOO_LARGE',
        'Request body too large',
        { detail: `at most ${maxSize} bytes`, limitBytes: maxSize },
        { connection: 'close' }
      ),
  })

const jsonLimit = limited(JSON_BODY_LIMIT)
const queueLimit = limited(QUEUE_BODY_LIMIT)

/**
 * hono's bodyLimit per route family: a declared Content-Length over the limit is refused before
 * reading; a streamed body is counted as it arrives and refused at the limit, so a 100 MB body is
 * never read whole. 413 problem+json (PAYLOAD_TOO_LARGE). Routes for which `ownLimit(path)` is true
 * (uploads) apply a limit of their own instead.
 */
export function limitBody(
  ownLimit: (path: string) => boolean = () => false
): MiddlewareHandler<AppEnv> {
  return (c, next) => {
    if (ownLimit(c.req.path)) return next()
    return c.req.path.startsWith('/internal/') ? queueLimit(c, next) : jsonLimit(c, next)
  }
}
