import type { CacheStore } from '../../domain/ports/cache.ts'
import type { Clock } from '../../domain/ports/clock.ts'

/**
 * The CacheStore in a Map, timed by the Clock port: same semantics as UpstashCacheStore, one
 * process only (tests, embedded mode). Expired values are dropped when next touched.
 */
export class MemoryCacheStore implements CacheStore {
  readonly #clock: Pick<Clock, 'now'>
  readonly #values = new Map<string, { value: string; expiresAt: number | null }>()
  readonly #bitmaps = new Map<string, Set<number>>()

  constructor(clock: Pick<Clock, 'now'>) {
    this.#clock = clock
  }

  async get(key: string): Promise<string | null> {
    const slot = this.#values.get(key)
    if (!slot) return null
    if (slot.expiresAt !== null && slot.expiresAt <= this.#clock.now()) {
      this.#values.delete(key)
      return null
    }
    return slot.value
  }

  async set(key: string, value: string, ttlMs: number | null): Promise<void> {
    const expiresAt = ttlMs === null ? null : this.#clock.now() + ttlMs
    this.#values.set(key, { value, expiresAt })
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      this.#values.delete(key)
      this.#bitmaps.delete(key)
    }
  }

  async getBits(key: string, offsets: readonly number[]): Promise<boolean[]> {
    checkOffsets(offsets)
    const bits = this.#bitmaps.get(key)
    return offsets.map((o) => bits?.has(o) ?? false)
  }

  async setBits(key: string, offsets: readonly number[]): Promise<number> {
    checkOffsets(offsets)
    const bits = this.#bitmaps.get(key) ?? new Set<number>()
    this.#bitmaps.set(key, bits)
    const before = bits.size
    for (const o of offsets) bits.add(o)
    return bits.size - before
  }
}

/** Redis refuses offsets outside 0 ≤ offset < 2^32 ('bit offset is not an integer or out of range'). */
function checkOffsets(offsets: readonly number[]): void {
  for (const o of offsets) {
    if (!Number.isInteger(o) || o < 0 || o >= 2 ** 32) {
      throw new RangeError(`bit offset is not an integer or out of range: ${o}`)
    }
  }
}
