export interface RateVerdict {
  success: boolean
  /** Bucket size. */
  limit: number
  /** Tokens left after this request. */
  remaining: number
  /** Unix ms when the bucket next refills. */
  resetAt: number
}

/** Token buckets keyed by subject (e.g. per user and one global bucket). */
export interface RateLimiter {
  /** Takes one token from `key`'s bucket if it has one. One atomic step per key. */
  limit(key: string): Promise<RateVerdict>
}
