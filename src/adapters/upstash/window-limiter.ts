import type { Clock } from '../../domain/ports/clock.ts'
import type { TierVerdict, WindowLimiter, WindowTier } from '../../domain/ports/window-limiter.ts'
import { randomToken } from '../system/random.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

/** Sliding windows as one sorted set per key (`<prefix>window:{<key>}`), judged by lua/window-hit.lua. */
export class UpstashWindowLimiter implements WindowLimiter {
  readonly #clock: Clock
  readonly #prefix: string
  readonly #redis: Redis

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#clock = clock
    this.#prefix = prefix
    this.#redis = redis
  }

  hit(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict> {
    return this.#run(key, tiers, true)
  }

  peek(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict> {
    return this.#run(key, tiers, false)
  }

  async #run(key: string, tiers: readonly WindowTier[], record: boolean): Promise<TierVerdict> {
    const now = this.#clock.now()
    const args = [String(now), record ? `${now}:${randomToken(6)}` : '']
    for (const t of tiers) args.push(String(t.windowMs), String(t.max))
    const [tier, retryAfterMs] = await redisCall(() =>
      evalLua<[number, number]>(this.#redis, 'windowHit', [`${this.#prefix}window:{${key}}`], args)
    )
    return tier === 0 ? { allowed: true } : { allowed: false, tier: tier - 1, retryAfterMs }
  }

  async undoLast(key: string): Promise<void> {
    // The latest event has the highest score (its time); one command, so no script is needed.
    await redisCall(() => this.#redis.zpopmax(`${this.#prefix}window:{${key}}`))
  }
}
