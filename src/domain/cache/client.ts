import { DependencyUnavailable, DomainError } from '../errors.ts'
import { acquireLock } from '../lock.ts'
import type { CacheStore } from '../ports/cache.ts'
import type { Clock } from '../ports/clock.ts'
import type { Ids } from '../ports/ids.ts'
import type { Lock } from '../ports/lock.ts'
import type { LocalCache } from './local.ts'

/**
 * How a key is rebuilt when it is missing or old (seeds 001/003: 缓存击穿).
 * - 'pass-through': every miss loads and fills (null caching still applies). Simple; concurrent
 *   misses of one key all reach the database.
 * - 'mutex': one caller per key (Lock port) loads and fills; the others poll the cache for a
 *   bounded time. Always fresh; waits on a cold key.
 * - 'logical': entries carry a logical expiry and outlive it; an expired entry is served stale
 *   while exactly one caller refreshes it in the background. Cold keys load as with 'mutex'.
 */
export type CacheStrategy = 'pass-through' | 'mutex' | 'logical'

/** Where an answer came from (the HTTP layer reports it as X-Cache). */
export type CacheSource =
  /** the isolate-local L1, fresh */
  | 'l1'
  /** the shared cache (Redis) */
  | 'redis'
  /** loaded from the database just now (and cached) */
  | 'db'
  /** an entry past its logical expiry; a background refresh was started or is running */
  | 'stale'
  /** the Bloom filter (or another guard) ruled the key out: the database was not asked */
  | 'guard'
  /** Redis is unreachable: the L1's copy (possibly older than the L1 TTL) */
  | 'degraded'

export interface CacheResult<T> {
  /** null = known not to exist (a cached null, a guard rejection, or a load that found nothing). */
  value: T | null
  source: CacheSource
}

/** How one kind of entry is cached: chosen per use. */
export interface CachePolicy {
  strategy: CacheStrategy
  /** Lifetime of an entry, ms: physical TTL (pass-through, mutex) or logical expiry (logical). */
  ttlMs: number
  /** Lifetime of a cached "does not exist" (against penetration, 缓存穿透), ms. */
  nullTtlMs: number
  /**
   * Random extra lifetime as a fraction of the TTL (against avalanche, 缓存雪崩): each write lives
   * ttl × (1 + jitter × r) for a uniform r in [0, 1), so entries filled together expire apart.
   */
  jitter: number
}

export interface CacheClientSettings {
  /** Lease of the rebuild lock, ms (longer than any load). */
  lockTtlMs: number
  /** How long a caller waits for another's rebuild before giving up with LOCK_TIMEOUT, ms. */
  waitMs: number
  /** Pause between polls while waiting, ms. */
  retryMs: number
  /** Logical strategy: how long an entry physically outlives its logical expiry, ms. */
  staleRetainMs: number
}

export interface CacheClientDeps {
  store: CacheStore
  lock: Lock
  clock: Clock
  ids: Ids
  /** The isolate's L1 (shared by all requests of the isolate). */
  local: LocalCache
  /** Uniform random numbers in [0, 1) (the jitter; tests pass a fixed sequence). */
  random: () => number
  /** Runs work after the response (Workers: waitUntil). */
  background(work: Promise<unknown>): void
}

/** What is stored per key: `v` the value (null = does not exist), `x` the logical expiry (ms). */
interface Entry<T> {
  v: T | null
  x?: number
}

export const DEFAULT_CACHE_SETTINGS: CacheClientSettings = {
  lockTtlMs: 10_000,
  waitMs: 3_000,
  retryMs: 25,
  staleRetainMs: 24 * 3600_000,
}

/**
 * Read-through caching with the defences the seeds teach, over the CacheStore port (Redis) and an
 * isolate-local L1. One instance per request scope (it hands background work to that scope).
 *
 * Reads: L1 (fresh) → shared cache (+ the optional guard, e.g. a Bloom filter, in the same round
 * trip) → the strategy's rebuild. When Redis is unreachable, the L1's copy is served as 'degraded'
 * and anything else rejects with DependencyUnavailable('redis').
 *
 * Fixes of the original CacheClient (hmdp-anchor §4.14-16): the rebuild lock is named after the
 * cache key it protects (no hard-coded prefix), owned by a random token and released only by its
 * owner; after acquiring it the cache is read again (double-check); waiting is bounded by time, not
 * recursion; logical expiry loads cold keys instead of returning null.
 */
export class CacheClient {
  readonly #d: CacheClientDeps
  readonly #s: CacheClientSettings

  constructor(deps: CacheClientDeps, settings: Partial<CacheClientSettings> = {}) {
    this.#d = deps
    this.#s = { ...DEFAULT_CACHE_SETTINGS, ...settings }
  }

  /**
   * The value at `key`, loading it with `load` (null = does not exist) per `policy` when needed.
   * `guard` runs alongside the first cache read; when it resolves false the key is treated as
   * absent without a load (a Bloom filter's "definitely not"). Rejects with
   * DomainError('LOCK_TIMEOUT') when another caller's rebuild outlasts `waitMs`.
   */
  async get<T>(
    key: string,
    load: () => Promise<T | null>,
    policy: CachePolicy,
    guard?: () => Promise<boolean>
  ): Promise<CacheResult<T>> {
    const { clock, local } = this.#d
    const started = clock.now()
    const l1 = local.get(key, started)
    if (l1?.fresh) {
      const entry = parse<T>(l1.text)
      if (entry) return { value: entry.v, source: 'l1' }
    }
    if (local.redisDown(started)) return this.#degraded<T>(l1?.text, undefined)
    try {
      const [text, allowed] = await Promise.all([
        this.#d.store.get(key),
        guard ? guard() : Promise.resolve(true),
      ])
      if (!allowed) return { value: null, source: 'guard' }
      const entry = text === null ? null : parse<T>(text)
      if (entry) {
        this.#remember(key, text!, entry, policy, started)
        if (policy.strategy === 'logical' && entry.v !== null && (entry.x ?? 0) <= clock.now()) {
          await this.#refreshInBackground(key, load, policy)
          return { value: entry.v, source: 'stale' }
        }
        return { value: entry.v, source: 'redis' }
      }
      if (policy.strategy === 'pass-through') {
        const value = await load()
        await this.#write(key, value, policy, started)
        return { value, source: 'db' }
      }
      return await this.#rebuildWithMutex(key, load, policy, started)
    } catch (e) {
      if (!isRedisDown(e)) throw e
      local.markRedisDown(clock.now())
      return this.#degraded<T>(l1?.text, e)
    }
  }

  /**
   * Cache-aside invalidation after the system of record changed: deletes the entry from Redis and
   * from this isolate's L1. It first waits (bounded) for an in-flight rebuild of the key, whose
   * load may predate the change, so that rebuild's write cannot outlive this delete. Rejects with
   * DependencyUnavailable('redis') when the delete could not be done.
   */
  async invalidate(key: string): Promise<void> {
    const { clock, local, lock } = this.#d
    local.invalidate(key, clock.now())
    const owner = this.#d.ids.token()
    const held = await acquireLock(this.#d, key, owner, {
      ttlMs: this.#s.lockTtlMs,
      waitMs: this.#s.waitMs,
      retryMs: this.#s.retryMs,
    })
    try {
      await this.#d.store.delete([key])
    } finally {
      if (held) await lock.release(key, owner).catch(() => 'not-owner')
      local.invalidate(key, clock.now())
    }
  }

  #degraded<T>(text: string | undefined, cause: unknown): CacheResult<T> {
    const entry = text === undefined ? null : parse<T>(text)
    if (entry) return { value: entry.v, source: 'degraded' }
    throw cause instanceof DependencyUnavailable ? cause : new DependencyUnavailable('redis', cause)
  }

  /**
   * Cold key: one caller (the lock holder) loads; the others poll the cache until the holder's
   * write appears or `waitMs` runs out. The holder reads the cache again after acquiring, since an
   * earlier holder may have filled it between our miss and our acquisition.
   */
  async #rebuildWithMutex<T>(
    key: string,
    load: () => Promise<T | null>,
    policy: CachePolicy,
    started: number
  ): Promise<CacheResult<T>> {
    const { clock, lock, store, local } = this.#d
    const owner = this.#d.ids.token()
    const deadline = clock.now() + this.#s.waitMs
    for (;;) {
      const attempt = await lock.tryAcquire(key, owner, this.#s.lockTtlMs)
      if (attempt.acquired) {
        try {
          const text = await store.get(key)
          const again = text === null ? null : parse<T>(text)
          if (again) {
            this.#remember(key, text!, again, policy, started)
            return { value: again.v, source: 'redis' }
          }
          const value = await load()
          await this.#write(key, value, policy, started)
          return { value, source: 'db' }
        } finally {
          await lock.release(key, owner).catch(() => 'not-owner')
        }
      }
      const left = deadline - clock.now()
      if (left <= 0) {
        throw new DomainError('LOCK_TIMEOUT', 'The entry is being rebuilt; try again shortly', {
          retryAfterMs: Math.min(attempt.retryAfterMs, 1_000),
        })
      }
      await clock.sleep(Math.max(1, Math.min(this.#s.retryMs, left)))
      const l1 = local.get(key, clock.now())
      const text = l1?.fresh ? l1.text : await store.get(key)
      const entry = text === null ? null : parse<T>(text)
      if (entry) {
        if (!l1?.fresh) this.#remember(key, text!, entry, policy, started)
        return { value: entry.v, source: 'redis' }
      }
    }
  }

  /**
   * Logical expiry: one attempt at the rebuild lock; its holder refreshes in the background and
   * releases the lock when done. Everyone (the holder included) is served the stale value now.
   */
  async #refreshInBackground<T>(
    key: string,
    load: () => Promise<T | null>,
    policy: CachePolicy
  ): Promise<void> {
    const { clock, lock, store } = this.#d
    const owner = this.#d.ids.token()
    const attempt = await lock.tryAcquire(key, owner, this.#s.lockTtlMs)
    if (!attempt.acquired) return
    const refresh = async () => {
      try {
        const started = clock.now()
        const text = await store.get(key)
        const again = text === null ? null : parse<T>(text)
        // Double-check: a refresh that finished after our read leaves nothing to do.
        if (again && (again.v === null || (again.x ?? 0) > started)) return
        await this.#write(key, await load(), policy, started)
      } finally {
        await lock.release(key, owner).catch(() => 'not-owner')
      }
    }
    this.#d.background(refresh())
  }

  /** Fills the shared cache (with a jittered TTL) and the L1. */
  async #write<T>(key: string, value: T | null, policy: CachePolicy, started: number) {
    const now = this.#d.clock.now()
    const base = value === null ? policy.nullTtlMs : policy.ttlMs
    const ttl = Math.max(1, Math.round(base * (1 + policy.jitter * this.#d.random())))
    let entry: Entry<T>
    let physical: number
    if (policy.strategy === 'logical' && value !== null) {
      entry = { v: value, x: now + ttl }
      physical = ttl + this.#s.staleRetainMs
    } else {
      entry = { v: value }
      physical = ttl
    }
    const text = JSON.stringify(entry)
    await this.#d.store.set(key, text, physical)
    this.#d.local.set(key, text, now, physical, started)
  }

  /** Keeps a copy of what Redis returned in the L1, for as long as Redis would keep it at most. */
  #remember<T>(key: string, text: string, entry: Entry<T>, policy: CachePolicy, started: number) {
    const base = entry.v === null ? policy.nullTtlMs : policy.ttlMs
    const keep =
      policy.strategy === 'logical' && entry.v !== null ? base + this.#s.staleRetainMs : base
    this.#d.local.set(key, text, this.#d.clock.now(), keep * (1 + policy.jitter), started)
  }
}

function isRedisDown(e: unknown): e is DependencyUnavailable {
  return e instanceof DependencyUnavailable && e.dependency === 'redis'
}

/** The stored entry, or null for anything that is not one (treated as a miss and overwritten). */
function parse<T>(text: string): Entry<T> | null {
  try {
    const entry = JSON.parse(text) as unknown
    if (typeof entry === 'object' && entry !== null && 'v' in entry) return entry as Entry<T>
  } catch {
    // not ours: a miss
  }
  return null
}
