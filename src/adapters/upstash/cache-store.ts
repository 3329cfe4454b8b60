import type { CacheStore } from '../../domain/ports/cache.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

/**
 * The CacheStore on Upstash Redis: values are plain strings (SET … PX, GET, DEL), bitmaps are
 * driven by lua/bitmap-*.lua so that all bits of one lookup travel in one command. The bit read
 * runs as EVALSHA_RO, a read command issued in the caller's tick (the SHA-1 is precomputed), so
 * auto-pipelining sends it in the same HTTP request as a concurrent GET. Needs a client with
 * `rawReplies` (values come back exactly as stored). Keys: `<prefix><key>`.
 */
export class UpstashCacheStore implements CacheStore {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  async get(key: string): Promise<string | null> {
    const value = await redisCall(() => this.#redis.get<string>(this.#prefix + key))
    return value === null || value === undefined ? null : String(value)
  }

  async set(key: string, value: string, ttlMs: number | null): Promise<void> {
    const k = this.#prefix + key
    await redisCall(() =>
      ttlMs === null ? this.#redis.set(k, value) : this.#redis.set(k, value, { px: ttlMs })
    )
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return
    await redisCall(() => this.#redis.del(...keys.map((k) => this.#prefix + k)))
  }

  async getBits(key: string, offsets: readonly number[]): Promise<boolean[]> {
    if (offsets.length === 0) return []
    const keys = [this.#prefix + key]
    const args = offsets.map(String)
    const bits = await redisCall(() =>
      evalLua<number[]>(this.#redis, 'bitmapGet', keys, args, { readOnly: true })
    )
    return bits.map((b) => Number(b) === 1)
  }

  async setBits(key: string, offsets: readonly number[]): Promise<number> {
    if (offsets.length === 0) return 0
    const keys = [this.#prefix + key]
    const args = offsets.map(String)
    const changed = await redisCall(() => evalLua<number>(this.#redis, 'bitmapSet', keys, args))
    return Number(changed)
  }
}
