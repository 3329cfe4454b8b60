import type { Clock } from '../../domain/ports/clock.ts'
import type {
  RenewOutcome,
  Session,
  SessionStore,
  SessionUser,
} from '../../domain/ports/session.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

/** Hash fields: u = user snapshot (JSON), c = created, r = renewed, x = expires, k = renewals. */
type SessionHash = {
  u: SessionUser | string
  c: number
  r: number
  x: number
  k: number
}

/**
 * Sessions as Redis hashes `<prefix>session:{<token>}` with a PEXPIRE matching their expiry. Expiry
 * is also stored (x) and judged by the Clock port, so tests can move time.
 *
 * Works on either client. Over TCP the app gives it the raw-replies one (`TcpRedis.raw`): every
 * request reads a session, and the SDK's automatic deserialization tries `JSON.parse` on each
 * string of the reply, throwing (and catching) a SyntaxError per field name — ~0.1 ms of CPU per
 * read. The store parses the one JSON field itself (`u` arrives parsed from a deserializing client).
 */
export class UpstashSessionStore implements SessionStore {
  readonly #redis: Redis
  readonly #clock: Clock
  readonly #prefix: string

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#redis = redis
    this.#clock = clock
    this.#prefix = prefix
  }

  #key(token: string): string {
    return `${this.#prefix}session:{${token}}`
  }

  async create(token: string, user: SessionUser, ttlMs: number): Promise<Session> {
    const now = this.#clock.now()
    const key = this.#key(token)
    const fields: SessionHash = { u: user, c: now, r: now, x: now + ttlMs, k: 0 }
    await redisCall(() =>
      this.#redis
        .multi()
        .hset(key, { ...fields, u: JSON.stringify(user) })
        .pexpire(key, ttlMs)
        .exec()
    )
    return { token, user, createdAt: now, renewedAt: now, expiresAt: now + ttlMs, renewals: 0 }
  }

  async get(token: string): Promise<Session | null> {
    const now = this.#clock.now()
    const flat = await redisCall(() =>
      evalLua<unknown[]>(this.#redis, 'sessionGet', [this.#key(token)], [String(now)])
    )
    const h = toHash(flat)
    if (!h || Number(h.x) <= now) return null
    return {
      token,
      user: typeof h.u === 'string' ? (JSON.parse(h.u) as SessionUser) : h.u,
      createdAt: Number(h.c),
      renewedAt: Number(h.r),
      expiresAt: Number(h.x),
      renewals: Number(h.k),
    }
  }

  async renew(
    token: string,
    ttlMs: number,
    minElapsedMs: number,
    maxRenewals: number
  ): Promise<RenewOutcome> {
    const n = await redisCall(() =>
      evalLua<number>(
        this.#redis,
        'sessionRenew',
        [this.#key(token)],
        [String(this.#clock.now()), String(ttlMs), String(minElapsedMs), String(maxRenewals)]
      )
    )
    return n > 0 ? 'renewed' : n === 0 ? 'not-due' : n === -2 ? 'exhausted' : 'missing'
  }

  async revoke(token: string): Promise<void> {
    await redisCall(() => this.#redis.del(this.#key(token)))
  }
}

/** A flat [field, value, ...] reply as a hash (values as strings, or JSON-parsed by the client). */
function toHash(flat: unknown[]): SessionHash | null {
  if (flat.length < 2) return null
  const h: Record<string, unknown> = {}
  for (let i = 0; i + 1 < flat.length; i += 2) h[String(flat[i])] = flat[i + 1]
  return h as SessionHash
}
