/**
 * The shared cache store (Redis in production): string values with millisecond TTLs, and bitmaps
 * (the Bloom filter's bits). Keys are logical names; adapters add the deployment's key prefix.
 *
 * Every method is one round trip to the store and atomic on its own. When the store cannot be
 * reached, methods reject with `DependencyUnavailable('redis')` (callers degrade or answer 503).
 */
export interface CacheStore {
  /** The value at `key`, or null when it is absent or its TTL has run out. */
  get(key: string): Promise<string | null>
  /**
   * Stores `value` at `key`, replacing any value and TTL. `ttlMs` is a positive whole number of
   * milliseconds after which the key disappears; null keeps it until deleted.
   */
  set(key: string, value: string, ttlMs: number | null): Promise<void>
  /** Removes the keys; absent keys are ignored. */
  delete(keys: readonly string[]): Promise<void>
  /**
   * The bits at `offsets` (whole numbers, 0 ≤ offset < 2^32) of the bitmap at `key`, in order, all
   * read in one round trip. An absent key reads as all zeros.
   */
  getBits(key: string, offsets: readonly number[]): Promise<boolean[]>
  /**
   * Sets the bits at `offsets` to 1 (creating the bitmap if needed), atomically. Returns how many
   * of them were 0 before. Bitmaps never expire.
   */
  setBits(key: string, offsets: readonly number[]): Promise<number>
}
