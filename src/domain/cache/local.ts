/** What the isolate-local cache holds for one key. */
export interface LocalHit {
  /** The entry's text as the shared cache stores it (callers parse: every hit is a fresh copy). */
  text: string
  /** Younger than the L1 TTL: may be served without asking the shared cache. */
  fresh: boolean
}

interface Slot {
  text: string
  /** Until then the entry is served without asking the shared cache (the L1 TTL). */
  freshUntil: number
  /** Until then it may stand in for the shared cache while that is down (the entry's own TTL). */
  keepUntil: number
}

/** A key invalidated at `at`: reads that began before then may not repopulate it. */
interface Tombstone {
  at: number
}

export interface LocalCacheOptions {
  /** Capacity (entries and tombstones); least recently used go first. 0 disables the L1. */
  maxEntries: number
  /** How long an entry is served without asking the shared cache, ms. 0 = only while it is down. */
  ttlMs: number
  /** How long the shared cache is skipped after it failed, ms. Default 1000. */
  retryAfterMs?: number
}

/**
 * The isolate-local level-1 cache in front of Redis (one per isolate/process, shared by its
 * requests): a bounded LRU with a short TTL, plus the isolate's view of Redis health. It holds
 * texts, never objects, so no caller can mutate what another one reads.
 *
 * Consistency: an entry is served for at most `ttlMs` after it was read from Redis, so a write
 * made elsewhere is seen here within that window; a write through this isolate deletes the entry
 * at once (and leaves a tombstone so a read that was already in flight cannot put the old value
 * back). While Redis is down, entries stand in until their own TTL would have ended in Redis.
 */
export class LocalCache {
  readonly ttlMs: number
  readonly #max: number
  readonly #retryAfterMs: number
  readonly #slots = new Map<string, Slot | Tombstone>()
  readonly #claims = new Map<string, number>()
  #redisDownUntil = 0

  constructor(options: LocalCacheOptions) {
    this.#max = Math.max(0, Math.floor(options.maxEntries))
    this.ttlMs = Math.max(0, options.ttlMs)
    this.#retryAfterMs = options.retryAfterMs ?? 1_000
  }

  get size(): number {
    return this.#slots.size
  }

  /** The entry for `key` unless absent or past its keep time; a hit becomes most recently used. */
  get(key: string, now: number): LocalHit | undefined {
    const slot = this.#slots.get(key)
    if (!slot || !('text' in slot)) return undefined
    if (slot.keepUntil <= now) {
      this.#slots.delete(key)
      return undefined
    }
    this.#slots.delete(key)
    this.#slots.set(key, slot)
    return { text: slot.text, fresh: slot.freshUntil > now }
  }

  /**
   * Remembers `text` for `key`, to stand in for the shared cache until `now + keepMs`. Ignored when
   * the key was invalidated at or after `readStartedAt` (the value may predate the write).
   */
  set(key: string, text: string, now: number, keepMs: number, readStartedAt: number): void {
    if (this.#max === 0) return
    const old = this.#slots.get(key)
    if (old && 'at' in old && old.at >= readStartedAt) return
    this.#put(key, { text, freshUntil: now + this.ttlMs, keepUntil: now + keepMs })
  }

  /** Forgets `key` and records when, so reads already in flight cannot repopulate it. */
  invalidate(key: string, now: number): void {
    if (this.#max === 0) return
    this.#put(key, { at: now })
  }

  #put(key: string, slot: Slot | Tombstone): void {
    this.#slots.delete(key)
    this.#slots.set(key, slot)
    while (this.#slots.size > this.#max) {
      const oldest = this.#slots.keys().next().value as string
      this.#slots.delete(oldest)
    }
  }

  /** True while the shared cache is considered down (it failed less than retryAfterMs ago). */
  redisDown(now: number): boolean {
    return now < this.#redisDownUntil
  }

  /** Records a failure of the shared cache: it is skipped for retryAfterMs, then tried again. */
  markRedisDown(now: number): void {
    this.#redisDownUntil = now + this.#retryAfterMs
  }

  /**
   * True at most once per `coolDownMs` for `name` (per isolate): lets many requests that notice the
   * same missing index start one rebuild between them instead of one each.
   */
  claim(name: string, now: number, coolDownMs: number): boolean {
    const last = this.#claims.get(name)
    if (last !== undefined && now - last < coolDownMs) return false
    this.#claims.set(name, now)
    return true
  }
}
