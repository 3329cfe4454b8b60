/** The user facts a session carries, so authenticated requests need no database read. */
export interface SessionUser {
  id: string
  nickname: string
  icon: string
}

export interface Session {
  token: string
  user: SessionUser
  /** Unix ms. */
  createdAt: number
  /** Unix ms of creation or of the last renewal. */
  renewedAt: number
  /** Unix ms; the session is gone from this instant. */
  expiresAt: number
  /** Renewals so far. */
  renewals: number
}

export type RenewOutcome =
  /** Extended to now + ttl. */
  | 'renewed'
  /** Renewed by someone else since `minElapsedMs` ago (a concurrent request): nothing to do. */
  | 'not-due'
  /** The renewal cap is reached: left to expire at its current `expiresAt`. */
  | 'exhausted'
  /** No such live session. */
  | 'missing'

/**
 * Server-side sessions keyed by an opaque bearer token (revocable, unlike JWTs). Expiry is judged
 * by the Clock port's time; the store also garbage-collects expired entries on its own.
 */
export interface SessionStore {
  /** Stores a new session for `user` under `token`, living `ttlMs` from now. One round trip. */
  create(token: string, user: SessionUser, ttlMs: number): Promise<Session>
  /** The live session, or null when unknown, revoked or expired. One round trip. */
  get(token: string): Promise<Session | null>
  /**
   * Atomically extends a live session to now + `ttlMs` when at least `minElapsedMs` passed since its
   * last renewal and it has been renewed fewer than `maxRenewals` times; counts the renewal.
   */
  renew(
    token: string,
    ttlMs: number,
    minElapsedMs: number,
    maxRenewals: number
  ): Promise<RenewOutcome>
  /** Ends the session now. Idempotent. */
  revoke(token: string): Promise<void>
}
