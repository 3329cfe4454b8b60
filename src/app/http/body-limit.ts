import type { MiddlewareHandler } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AppEnv } from './env.ts'
import { problem } from './problem.ts'

/** Largest JSON body of the public and admin API (a blog post is ~20 KB at most). */
export const JSON_BODY_LIMIT = 64 * 1024
/** Largest queue delivery / failure callback (QStash's own message limit is 1 MB, base64 grows it). */
export const QUEUE_BODY_LIMIT = 2 * 1024 * 1024

/**
 * Requests the server knows carry no body (Node: an HTTP/1.x request with neither Content-Length
 * nor Transfer-Encoding, RFC 9112 §6.3). Asking a Node request for its `body` builds the whole
 * WHATWG Request and a stream around the socket, which hono's bodyLimit does for every request:
 * the most expensive step of a bodyless POST (the flash-sale purchase).
 */
const bodyless = new WeakSet<Request>()

/** Node entry: `request` has no body (see `bodyless`). */
export function rememberBodyless(request: Request): void {
  bodyless.add(request)
}

const limited = (maxSize: number) => {
  const limit = bodyLimit({
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
  // hono's own decisions, taken without materializing the request body where the headers decide:
  // GET/HEAD have no body; a Content-Length without Transfer-Encoding is compared as declared.
  const handle: MiddlewareHandler<AppEnv> = (c, next) => {
    const method = c.req.method
    if (method === 'GET' || method === 'HEAD' || bodyless.has(c.req.raw)) return next()
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length || '0', 10) > maxSize ? limit(c, next) : next()
    }
    return limit(c, next)
  }
  return handle
}

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
