import { Ratelimit } from '@upstash/ratelimit'
import type { RateLimiter, RateVerdict } from '../../domain/ports/rate-limiter.ts'
import { type Redis, redisCall } from './client.ts'

export interface TokenBucket {
  /** Tokens added per interval, and the bucket size. */
  tokens: number
  intervalMs: number
}

/**
 * Token buckets with @upstash/ratelimit (one EVALSHA per check, issued synchronously so it joins
 * the caller's pipelined request). The ephemeral cache (per isolate) answers for buckets known to
 * be empty without a Redis call. Analytics are off, so nothing is left pending after a check.
 * Note: the library reads wall-clock time itself (Date.now), not the Clock port.
 */
export class UpstashRateLimiter implements RateLimiter {
  readonly #ratelimit: Ratelimit

  constructor(redis: Redis, bucket: TokenBucket, prefix: string) {
    this.#ratelimit = new Ratelimit({
      redis,
      prefix: `${prefix}ratelimit`,
      limiter: Ratelimit.tokenBucket(bucket.tokens, `${bucket.intervalMs} ms`, bucket.tokens),
      analytics: false,
      timeout: 0,
      ephemeralCache: new Map(),
    })
  }

  async limit(key: string): Promise<RateVerdict> {
    const r = await redisCall(() => this.#ratelimit.limit(key))
    return {
      success: r.success,
      limit: r.limit,
      remaining: Math.max(0, r.remaining),
      resetAt: r.reset,
    }
  }
}
