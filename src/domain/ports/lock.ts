/** Result of one atomic acquisition attempt. */
export type LockAttempt =
  | {
      acquired: true /** re-entrant hold count after this acquisition (1 = first hold) */
      holds: number
    }
  | {
      acquired: false /** ms until the current holder's lease ends (its TTL) */
      retryAfterMs: number
    }

/** Outcome of releasing one hold. */
export type LockRelease = 'released' | 'held' | 'not-owner'

/**
 * A named mutual-exclusion lease shared by every instance of the app (a distributed lock).
 *
 * Leases are owned by an opaque owner token (use `Ids.token()`); only the owner can extend or
 * release. Leases expire `ttlMs` after the last acquire/extend, so a crashed holder cannot block
 * others forever. The same owner may acquire again while it holds the lease (re-entrant); each
 * acquisition needs one release. Every method is a single atomic step; waiting and the watchdog
 * live in `src/domain/lock.ts`.
 */
export interface Lock {
  /** Takes the lease if it is free or expired, or re-enters it if `owner` holds it (refreshing the TTL). */
  tryAcquire(name: string, owner: string, ttlMs: number): Promise<LockAttempt>
  /**
   * Drops one hold. 'released' = the lease is now free; 'held' = the owner still holds it
   * (re-entrant count > 0); 'not-owner' = someone else holds it, or nobody (e.g. it expired) —
   * nothing was changed.
   */
  release(name: string, owner: string): Promise<LockRelease>
  /** Resets the lease TTL to `ttlMs` from now if `owner` still holds it. Returns false otherwise. */
  extend(name: string, owner: string, ttlMs: number): Promise<boolean>
}
