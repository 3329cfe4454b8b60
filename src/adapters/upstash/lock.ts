import type { Clock } from '../../domain/ports/clock.ts'
import type { Lock, LockAttempt, LockRelease } from '../../domain/ports/lock.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

/**
 * Leases as Redis hashes driven by lua/lock-*.lua: one script call (one round trip) per step, with
 * the caller's clock passed in. Key: `<prefix>lock:{<name>}`. Acquire and release carry a fresh
 * request id, so when the client re-sends a call whose reply was lost the script recognises it and
 * answers its first outcome (no second hold taken or dropped); extend is naturally idempotent.
 */
export class UpstashLock implements Lock {
  readonly #clock: Clock
  readonly #prefix: string
  readonly #redis: Redis

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#clock = clock
    this.#prefix = prefix
    this.#redis = redis
  }

  #key(name: string): string {
    return `${this.#prefix}lock:{${name}}`
  }

  async tryAcquire(name: string, owner: string, ttlMs: number): Promise<LockAttempt> {
    const [ok, n] = await redisCall(() =>
      evalLua<[number, number]>(
        this.#redis,
        'lockAcquire',
        [this.#key(name)],
        [owner, String(ttlMs), String(this.#clock.now()), crypto.randomUUID()]
      )
    )
    return ok === 1 ? { acquired: true, holds: n } : { acquired: false, retryAfterMs: n }
  }

  async release(name: string, owner: string): Promise<LockRelease> {
    const n = await redisCall(() =>
      evalLua<number>(
        this.#redis,
        'lockRelease',
        [this.#key(name)],
        [owner, String(this.#clock.now()), crypto.randomUUID()]
      )
    )
    return n === 0 ? 'released' : n > 0 ? 'held' : 'not-owner'
  }

  async extend(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const n = await redisCall(() =>
      evalLua<number>(
        this.#redis,
        'lockExtend',
        [this.#key(name)],
        [owner, String(ttlMs), String(this.#clock.now())]
      )
    )
    return n === 1
  }
}
