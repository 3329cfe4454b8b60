import type { Context, MiddlewareHandler } from 'hono'
import type { AppEnv } from './env.ts'

/**
 * Where a request came from, for per-client abuse limits. On Workers Cloudflare sets
 * `CF-Connecting-IP`. On Node the entry records the socket's peer address here (a client cannot
 * forge it); `X-Forwarded-For` is read only when TRUST_PROXY says how many proxies of ours sit in
 * front (their entries are skipped from the right, the next one is the client).
 */
const socketAddresses = new WeakMap<Request, string>()

/** Node entry: remember the TCP peer of `request`. */
export function rememberSocketAddress(request: Request, address: string | undefined): void {
  if (address) socketAddresses.set(request, address)
}

/**
 * Copies the socket address into the context before anything replaces `c.req.raw` (the body limit
 * re-wraps a streamed body in a new Request).
 */
export const captureSocketAddress: MiddlewareHandler<AppEnv> = (c, next) => {
  const socket = socketAddresses.get(c.req.raw)
  if (socket !== undefined) c.set('socketAddress', socket)
  return next()
}

/** The client's address as this deployment can know it, or 'unknown'. */
export function clientAddress(c: Context<AppEnv>, trustProxyHops: number): string {
  const socket = c.get('socketAddress') ?? socketAddresses.get(c.req.raw)
  if (socket === undefined) return c.req.header('cf-connecting-ip')?.trim() || 'unknown'
  if (trustProxyHops > 0) {
    const chain = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
    // The proxies append what they saw: the last `hops` entries are ours, the one before is the client.
    const candidate = chain[chain.length - trustProxyHops]
    if (candidate) return candidate
  }
  return socket
}

/**
 * The key a client is limited by: an IPv4 address as is, an IPv6 address by its /64 (one
 * subscriber usually holds a whole /64, so single addresses would be free to rotate).
 */
export function clientKey(address: string): string {
  const v4mapped = address.match(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i)
  if (v4mapped) return v4mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail = ''] = address.split('::')
  const left = head ? head.split(':') : []
  const right = address.includes('::') && tail ? tail.split(':') : []
  const groups = address.includes('::')
    ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
    : address.split(':')
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`
}
