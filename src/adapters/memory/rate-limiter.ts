import type { Clock } from '../../domain/ports/clock.ts'
import type { RateLimiter, RateVerdict } from '../../domain/ports/rate-limiter.ts'

export interface MemoryTokenBucket {
  tokens: number
  intervalMs: number
}

/** Token buckets in a Map, refilled like @upstash/ratelimit's tokenBucket (one process only). */
export class MemoryRateLimiter implements RateLimiter {
  readonly #clock: Clock
  readonly #bucket: MemoryTokenBucket
  readonly #state = new Map<string, { tokens: number; refilledAt: number }>()

  constructor(clock: Clock, bucket: MemoryTokenBucket) {
    this.#clock = clock
    this.#bucket = bucket
  }

  async limit(key: string): Promise<RateVerdict> {
    const now = this.#clock.now()
    const { tokens: max, intervalMs } = this.#bucket
    let s = this.#state.get(key)
    if (!s) {
      s = { tokens: max, refilledAt: now }
      this.#state.set(key, s)
    }
    const refills = Math.floor((now - s.refilledAt) / intervalMs)
    if (refills > 0) {
      s.tokens = Math.min(max, s.tokens + refills * max)
      s.refilledAt += refills * intervalMs
    }
    const resetAt = s.refilledAt + intervalMs
    if (s.tokens < 1) return { success: false, limit: max, remaining: 0, resetAt }
    s.tokens -= 1
    return { success: true, limit: max, remaining: s.tokens, resetAt }
  }
}
