/** A sliding-window tier: at most `max` events within any `windowMs`. */
export interface WindowTier {
  windowMs: number
  max: number
}

export type TierVerdict =
  | { allowed: true }
  /** `tier` is the index in the given list; `retryAfterMs` is when that tier admits one more. */
  | { allowed: false; tier: number; retryAfterMs: number }

/** Counts events per key in sliding windows (e.g. login-code sends per phone). */
export interface WindowLimiter {
  /**
   * Atomically checks every tier for `key` and, only if all allow, records one event now. Events
   * older than the longest window are forgotten.
   */
  hit(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict>
  /** The verdict `hit` would give now, recording nothing (e.g. "has this client failed too often?"). */
  peek(key: string, tiers: readonly WindowTier[]): Promise<TierVerdict>

  /**
   * Forgets the most recent event recorded for `key`: the compensation when the action an allowed
   * `hit` counted did not happen (e.g. the SMS was not sent). A no-op when none is recorded. If
   * two hits raced, the later one is forgotten; the counts come out the same either way.
   */
  undoLast(key: string): Promise<void>
}
