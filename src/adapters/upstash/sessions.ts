import type { Clock } from '../../domain/ports/clock.ts'
import type {
  RenewOutcome,
  Session,
  SessionStore,
  SessionUser,
} from '../../domain/ports/session.ts'
import { type Redis, redisCall } from './client.ts'
import { sessionRenew } from './scripts.gen.ts'

/** Hash fields: u = user snapshot (JSON), c = created, r = renewed, x = expires, k = renewals. */
type SessionHash = {
  u: SessionUser
  c: number
  r: number
  x: number
  k: number
}

/**
 * Sessions as Redis hashes `<prefix>session:{<token>}` with a PEXPIRE matching their expiry. Expiry
 * is also stored (x) and judged by the Clock port, so tests can move time.
 */
export class UpstashSessionStore implements SessionStore {
  readonly #redis: Redis
  readonly #clock: Clock
  readonly #prefix: string
  readonly #renew

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#redis = redis
    this.#clock = clock
    this.#prefix = prefix
    this.#renew = redis.createScript<number>(sessionRenew)
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
    const h = await redisCall(() => this.#redis.hgetall<SessionHash>(this.#key(token)))
    if (!h || h.x === undefined || Number(h.x) <= this.#clock.now()) return null
    return {
      token,
      user: h.u,
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
      this.#renew.exec(
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
