import type { Liker } from '../../domain/ports/blogs.ts'
import type { LikeIndex } from '../../domain/ports/likes.ts'
import { type Redis, redisCall } from './client.ts'
import { chunks, replyText } from './text.ts'

/**
 * Likers as one sorted set per blog, `<prefix>blog:liked:{<blogId>}` (member = user id, score =
 * like time in Unix ms): ZADD/ZREM, ZSCORE per blog pipelined, ZRANGE 0 n-1 for the earliest.
 */
export class UpstashLikeIndex implements LikeIndex {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  #key(blogId: string): string {
    return `${this.#prefix}blog:liked:{${blogId}}`
  }

  async put(blogId: string, userId: string, atMs: number | null): Promise<void> {
    const key = this.#key(blogId)
    await redisCall(() =>
      atMs === null
        ? this.#redis.zrem(key, userId)
        : this.#redis.zadd(key, { score: atMs, member: userId })
    )
  }

  async likedBy(blogIds: readonly string[], userId: string): Promise<boolean[]> {
    if (blogIds.length === 0) return []
    const p = this.#redis.pipeline()
    for (const id of blogIds) p.zscore(this.#key(id), userId)
    const scores = await redisCall(() => p.exec<(number | null)[]>())
    return scores.map((s) => s !== null)
  }

  async earliest(blogId: string, limit: number): Promise<Liker[]> {
    if (limit <= 0) return []
    const flat = await redisCall(() =>
      this.#redis.zrange<unknown[]>(this.#key(blogId), 0, limit - 1, { withScores: true })
    )
    const likers: Liker[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      likers.push({ userId: replyText(flat[i]), atMs: Number(flat[i + 1]) })
    }
    return likers
  }

  async count(blogId: string): Promise<number> {
    return redisCall(() => this.#redis.zcard(this.#key(blogId)))
  }

  async replace(blogId: string, likers: readonly Liker[]): Promise<void> {
    const key = this.#key(blogId)
    const tx = this.#redis.multi().del(key)
    for (const part of chunks(likers, 1000)) {
      const [first, ...rest] = part.map((l) => ({ score: l.atMs, member: l.userId }))
      tx.zadd(key, first!, ...rest)
    }
    await redisCall(() => tx.exec())
  }
}
