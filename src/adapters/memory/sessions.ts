import type { Clock } from '../../domain/ports/clock.ts'
import type {
  RenewOutcome,
  Session,
  SessionStore,
  SessionUser,
} from '../../domain/ports/session.ts'

/** Sessions in a Map, timed by the Clock port (one process only). */
export class MemorySessionStore implements SessionStore {
  readonly #clock: Clock
  readonly #sessions = new Map<string, Session>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  #live(token: string): Session | undefined {
    const s = this.#sessions.get(token)
    if (s && s.expiresAt <= this.#clock.now()) {
      this.#sessions.delete(token)
      return undefined
    }
    return s
  }

  async create(token: string, user: SessionUser, ttlMs: number): Promise<Session> {
    const now = this.#clock.now()
    const session = {
      token,
      user: { ...user },
      createdAt: now,
      renewedAt: now,
      expiresAt: now + ttlMs,
      renewals: 0,
    }
    this.#sessions.set(token, session)
    return structuredClone(session)
  }

  async get(token: string): Promise<Session | null> {
    const s = this.#live(token)
    return s ? structuredClone(s) : null
  }

  async renew(
    token: string,
    ttlMs: number,
    minElapsedMs: number,
    maxRenewals: number
  ): Promise<RenewOutcome> {
    const s = this.#live(token)
    if (!s) return 'missing'
    const now = this.#clock.now()
    if (now - s.renewedAt < minElapsedMs) return 'not-due'
    if (s.renewals >= maxRenewals) return 'exhausted'
    s.renewedAt = now
    s.expiresAt = now + ttlMs
    s.renewals += 1
    return 'renewed'
  }

  async revoke(token: string): Promise<void> {
    this.#sessions.delete(token)
  }
}
