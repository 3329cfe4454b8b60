import type { Clock } from '../../domain/ports/clock.ts'
import type { Lock, LockAttempt, LockRelease } from '../../domain/ports/lock.ts'

interface Lease {
  owner: string
  holds: number
  expiresAt: number
}

/** Leases in a Map, timed by the Clock port: same semantics as lua/lock-*.lua, one process only. */
export class MemoryLock implements Lock {
  readonly #clock: Clock
  readonly #leases = new Map<string, Lease>()

  constructor(clock: Clock) {
    this.#clock = clock
  }

  #live(name: string, now: number): Lease | undefined {
    const lease = this.#leases.get(name)
    if (lease && lease.expiresAt <= now) {
      this.#leases.delete(name)
      return undefined
    }
    return lease
  }

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<LockAttempt> {
    const now = this.#clock.now()
    const lease = this.#live(name, now)
    if (lease && lease.owner !== owner)
      return { acquired: false, retryAfterMs: lease.expiresAt - now }
    const holds = (lease?.holds ?? 0) + 1
    this.#leases.set(name, { owner, holds, expiresAt: now + ttlMs })
    return { acquired: true, holds }
  }

  async release(name: string, owner: string): Promise<LockRelease> {
    const lease = this.#live(name, this.#clock.now())
    if (!lease || lease.owner !== owner) return 'not-owner'
    lease.holds -= 1
    if (lease.holds > 0) return 'held'
    this.#leases.delete(name)
    return 'released'
  }

  async extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#clock.now()
    const lease = this.#live(name, now)
    if (!lease || lease.owner !== owner) return false
    lease.expiresAt = now + ttlMs
    return true
  }
}
