import type { BloomFilter } from '../cache/bloom.ts'
import type { CacheClient, CachePolicy, CacheResult } from '../cache/client.ts'
import type { LocalCache } from '../cache/local.ts'
import { DependencyUnavailable, DomainError } from '../errors.ts'
import { isDecimalId } from '../ids.ts'
import { withLock } from '../lock.ts'
import type { CacheStore } from '../ports/cache.ts'
import type { Clock } from '../ports/clock.ts'
import type { GeoIndex, LngLat } from '../ports/geo.ts'
import type { Ids } from '../ports/ids.ts'
import type { Lock } from '../ports/lock.ts'
import type { Shop, ShopInput, ShopRepository, ShopType } from '../ports/shops.ts'

/** Cache keys: the read path and the write path build them here, and only here. */
export const shopKeys = {
  shop: (id: string) => `cache:shop:${id}`,
  types: 'cache:shop-types',
  geo: (typeId: string) => `shop:geo:${typeId}`,
  /** Present once the GEO sets were fully built (a flushed Redis loses it with them). */
  geoReady: 'shop:geo:ready',
  /** The Lock name that serialises index rebuilds. */
  indexLock: 'shops:indexes',
  bloom: 'shops',
} as const

/** How far `nearby` looks, in metres (as the original: 5 km). */
export const NEARBY_RADIUS_M = 5_000

/** Rows per round trip when an index rebuild scans the shops table. */
const REBUILD_BATCH = 500
/** How often one isolate may start a rebuild it noticed was needed, ms. */
const REBUILD_COOL_DOWN_MS = 5_000

export interface Page<T> {
  items: T[]
  page: number
  size: number
  hasMore: boolean
}

export type NearbyShop = Shop & { distanceM: number }

export interface ShopServiceDeps {
  repo: ShopRepository
  cache: CacheClient
  store: CacheStore
  geo: GeoIndex
  lock: Lock
  clock: Clock
  ids: Ids
  local: LocalCache
  /** The shop-id Bloom filter; null = none (then null caching alone handles unknown ids). */
  bloom: BloomFilter | null
  background(work: Promise<unknown>): void
}

export interface ShopServiceSettings {
  /** Caching of `GET /shops/:id` (strategy chosen by SHOP_CACHE_STRATEGY). */
  shopPolicy: CachePolicy
  /** Caching of the shop-type list. */
  typesPolicy: CachePolicy
}

/**
 * Shops: cached reads (CacheClient + Bloom filter), DB paging and search, GEO "nearby", and
 * cache-aside writes that keep the Redis side (cache entry, Bloom filter, GEO sets) in step.
 *
 * Write order, and why the consistency window is bounded:
 * - create: reserve an id, add it to the Bloom filter and the GEO set, insert the row, delete any
 *   cached null for the id. Index entries for a row that then fails to insert are harmless (a
 *   Bloom false positive; a GEO member whose shop loads as null is skipped).
 * - update: delete the cache entry, update the row (one transaction), then delete the entry again
 *   (after waiting for an in-flight rebuild of it, whose load may predate the update) and move the
 *   GEO member. Once the call returns, Redis and this isolate's L1 serve the new row; other
 *   isolates' L1 copies live at most CACHE_L1_TTL.
 */
export class ShopService {
  readonly #d: ShopServiceDeps
  readonly #s: ShopServiceSettings

  constructor(deps: ShopServiceDeps, settings: ShopServiceSettings) {
    this.#d = deps
    this.#s = settings
  }

  /** One shop through the cache; `value` null = no such shop (404). */
  async getShop(id: string): Promise<CacheResult<Shop>> {
    if (!isDecimalId(id)) return { value: null, source: 'guard' }
    const bloom = this.#d.bloom
    return this.#d.cache.get(
      shopKeys.shop(id),
      () => this.#d.repo.findById(id),
      this.#s.shopPolicy,
      bloom ? () => this.#bloomAllows(bloom, id) : undefined
    )
  }

  /** Every shop type in display order, through the cache. */
  async listTypes(): Promise<CacheResult<ShopType[]>> {
    const result = await this.#d.cache.get(
      shopKeys.types,
      () => this.#d.repo.listTypes(),
      this.#s.typesPolicy
    )
    return { value: result.value ?? [], source: result.source }
  }

  /** A page of one type's shops, straight from the database. */
  async listByType(typeId: string, page: number, size: number): Promise<Page<Shop>> {
    const rows = await this.#d.repo.listByType(typeId, (page - 1) * size, size + 1)
    return { items: rows.slice(0, size), page, size, hasMore: rows.length > size }
  }

  /** A page of shops whose name contains `name`, straight from the database. */
  async search(name: string, page: number, size: number): Promise<Page<Shop>> {
    const rows = await this.#d.repo.searchByName(name, (page - 1) * size, size + 1)
    return { items: rows.slice(0, size), page, size, hasMore: rows.length > size }
  }

  /**
   * Shops of one type within 5 km of `center`, nearest first, `size` per page (Redis GEOSEARCH, then
   * each shop through the cache). Pages are windows over one distance order, so paging never
   * repeats a shop while the set is unchanged. While the GEO sets are missing (e.g. a flushed
   * Redis) a rebuild starts and this rejects with DEPENDENCY_UNAVAILABLE (retry after 1 s).
   */
  async nearby(typeId: string, center: LngLat, page: number, size: number) {
    const from = (page - 1) * size
    const [ready, hits] = await Promise.all([
      this.#d.store.get(shopKeys.geoReady),
      this.#d.geo.search(shopKeys.geo(typeId), center, NEARBY_RADIUS_M, from + size + 1),
    ])
    if (ready === null) {
      this.#scheduleRebuild()
      throw new DomainError('DEPENDENCY_UNAVAILABLE', 'The nearby index is being rebuilt', {
        dependency: 'shop-geo-index',
        retryAfterMs: 1_000,
      })
    }
    const window = hits.slice(from, from + size)
    const shops = await Promise.all(window.map((hit) => this.getShop(hit.member)))
    const items: NearbyShop[] = []
    let degraded = false
    for (const [i, hit] of window.entries()) {
      const { value, source } = shops[i]!
      degraded ||= source === 'degraded'
      // A member whose shop is gone or moved to another type is a leftover: skip it.
      if (value && value.typeId === typeId) {
        items.push({ ...value, distanceM: Math.round(hit.distanceM) })
      }
    }
    const result: Page<NearbyShop> = { items, page, size, hasMore: hits.length > from + size }
    return { ...result, degraded }
  }

  /** Creates a shop (admin). See the class comment for the write order. */
  async create(input: ShopInput): Promise<Shop> {
    this.#requireRedis()
    await this.#requireType(input.typeId)
    const { repo, geo, bloom } = this.#d
    const id = await repo.reserveId()
    await Promise.all([
      bloom?.add([id]),
      geo.add(shopKeys.geo(input.typeId), [{ member: id, lng: input.lng, lat: input.lat }]),
    ])
    const shop = await repo.create(id, input)
    // A null may have been cached for this id (by a guess, or a Bloom false positive).
    await this.#d.cache.invalidate(shopKeys.shop(id))
    return shop
  }

  /**
   * Replaces a shop's editable fields (admin); NOT_FOUND when absent. The GEO index is written
   * first: the new position goes into the new type's set before the row changes, so an
   * unreachable Redis fails the call while nothing changed; if the row update then fails, the old
   * position is put back (compensation). After the row changed, the entry is deleted and the member
   * leaves every other type's set. Rejects with DependencyUnavailable('redis') when Redis failed
   * after the row changed: PUT is idempotent and each retry repairs the index whole (it removes the
   * member from every other type), so the caller retries (the old cache entry lives at most its TTL).
   */
  async update(id: string, input: ShopInput): Promise<Shop> {
    this.#requireRedis()
    const types = await this.#requireType(input.typeId)
    if (!isDecimalId(id)) throw new DomainError('NOT_FOUND', 'No such shop', { id })
    const { geo, repo } = this.#d
    const before = await repo.findById(id)
    if (!before) throw new DomainError('NOT_FOUND', 'No such shop', { id })
    // Delete first as well: it fails fast (before the row changes) when Redis is unreachable.
    await this.#d.cache.invalidate(shopKeys.shop(id))
    const position = (s: { lng: number; lat: number }) => [{ member: id, lng: s.lng, lat: s.lat }]
    await geo.add(shopKeys.geo(input.typeId), position(input))
    let changed: Awaited<ReturnType<ShopRepository['update']>>
    try {
      changed = await repo.update(id, input)
    } catch (e) {
      await this.#restorePosition(before, input.typeId)
      throw e
    }
    if (!changed) {
      await this.#restorePosition(before, input.typeId)
      throw new DomainError('NOT_FOUND', 'No such shop', { id })
    }
    const others = types.filter((t) => t.id !== changed.after.typeId)
    await Promise.all([
      this.#d.cache.invalidate(shopKeys.shop(id)),
      ...others.map((t) => geo.remove(shopKeys.geo(t.id), [id])),
    ])
    return changed.after
  }

  /** Compensation of update's index-first write: the member back where the row still says. */
  async #restorePosition(before: Shop, newTypeId: string): Promise<void> {
    const { geo } = this.#d
    const point = [{ member: before.id, lng: before.lng, lat: before.lat }]
    await Promise.all([
      geo.add(shopKeys.geo(before.typeId), point),
      newTypeId === before.typeId ? undefined : geo.remove(shopKeys.geo(newTypeId), [before.id]),
    ])
  }

  /** Rebuilds the Bloom filter and GEO sets unless both are complete. */
  async ensureIndexes(): Promise<'ready' | 'rebuilt'> {
    const [geoReady, bloomReady] = await Promise.all([
      this.#d.store.get(shopKeys.geoReady),
      this.#d.bloom ? this.#d.bloom.isReady() : Promise.resolve(true),
    ])
    if (geoReady !== null && bloomReady) return 'ready'
    await this.rebuildIndexes()
    return 'rebuilt'
  }

  /**
   * Adds every shop to the Bloom filter and its type's GEO set (idempotent), then marks both
   * complete. One instance at a time (Lock `shops:indexes`, with a watchdog); rejects with
   * LOCK_TIMEOUT when another is already rebuilding. Writes concurrent with a rebuild are safe:
   * they update the indexes themselves.
   */
  async rebuildIndexes(): Promise<{ shops: number }> {
    const { repo, geo, bloom, store, clock } = this.#d
    const opts = { ttlMs: 30_000, waitMs: 0 }
    return withLock(this.#d, shopKeys.indexLock, opts, async (signal) => {
      let after: string | null = null
      let shops = 0
      for (;;) {
        if (signal.aborted) throw signal.reason
        const batch = await repo.scan(after, REBUILD_BATCH)
        if (batch.length === 0) break
        const byType = new Map<string, Shop[]>()
        for (const shop of batch)
          byType.set(shop.typeId, [...(byType.get(shop.typeId) ?? []), shop])
        await Promise.all([
          bloom?.add(batch.map((s) => s.id)),
          ...[...byType].map(([typeId, list]) =>
            geo.add(
              shopKeys.geo(typeId),
              list.map((s) => ({ member: s.id, lng: s.lng, lat: s.lat }))
            )
          ),
        ])
        shops += batch.length
        after = batch.at(-1)!.id
      }
      await Promise.all([
        bloom?.markReady(),
        store.set(shopKeys.geoReady, String(clock.now()), null),
      ])
      return { shops }
    })
  }

  async #bloomAllows(bloom: BloomFilter, id: string): Promise<boolean> {
    const verdict = await bloom.check(id)
    if (verdict === 'unready') this.#scheduleRebuild()
    return verdict !== 'absent'
  }

  /** Starts one background rebuild per isolate and cool-down (a busy lock means one is running). */
  #scheduleRebuild(): void {
    if (!this.#d.local.claim(shopKeys.indexLock, this.#d.clock.now(), REBUILD_COOL_DOWN_MS)) return
    this.#d.background(
      this.rebuildIndexes().catch((e: unknown) => {
        if (e instanceof DomainError && e.code === 'LOCK_TIMEOUT') return
        throw e
      })
    )
  }

  /** Writes need Redis (indexes, invalidation): refuse up front while it is known to be down. */
  #requireRedis(): void {
    if (this.#d.local.redisDown(this.#d.clock.now())) throw new DependencyUnavailable('redis')
  }

  async #requireType(typeId: string): Promise<ShopType[]> {
    const types = (await this.listTypes()).value ?? []
    if (!types.some((t) => t.id === typeId)) {
      throw new DomainError('VALIDATION_FAILED', 'No such shop type', {
        field: 'typeId',
        typeId,
      })
    }
    return types
  }
}
