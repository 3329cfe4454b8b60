import type { Clock } from '../../domain/ports/clock.ts'
import type { TierVerdict, WindowLimiter, WindowTier } from '../../domain/ports/window-limiter.ts'
import { randomToken } from '../system/random.ts'
import { type Redis, redisCall } from './client.ts'
import { windowHit } from './scripts.gen.ts'

/** Sliding windows as one sorted set per key (`<prefix>window:{<key>}`), judged by lua/window-hit.lua. */
export class UpstashWindowLimiter implements WindowLimiter {
  readonly #clock: Clock
  readonly #prefix: string
  readonly #hit

  constructor(redis: Redis, clock: Clock, prefix = '') {
    this.#clock = clock
    this.#prefix = prefix
    this.#hit = redis.createScript<[number, number]>(windowHit)
  }

  async hit(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict> {
    const now = this.#clock.now()
    const args = [String(now), `${now}:${randomToken(6)}`]
    for (const t of tiers) args.push(String(t.windowMs), String(t.max))
    const [tier, retryAfterMs] = await redisCall(() =>
      this.#hit.exec([`${this.#prefix}window:{${key}}`], args)
    )
    return tier === 0 ? { allowed: true } : { allowed: false, tier: tier - 1, retryAfterMs }
  }
}
