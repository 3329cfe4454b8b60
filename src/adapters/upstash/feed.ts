import type { FeedEntry, FeedInbox, FeedRange } from '../../domain/ports/feed.ts'
import { type Redis, redisCall } from './client.ts'
import { replyText } from './text.ts'

/**
 * Inboxes as one sorted set per user, `<prefix>feed:{<userId>}` (member = blog id, score = the
 * blog's creation time in Unix ms). A push is ZADD + ZREMRANGEBYRANK per follower, all in one
 * pipeline; a page is one ZRANGE … BYSCORE REV LIMIT.
 */
export class UpstashFeedInbox implements FeedInbox {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  #key(userId: string): string {
    return `${this.#prefix}feed:{${userId}}`
  }

  async push(
    userIds: readonly string[],
    blogId: string,
    atMs: number,
    maxLen: number
  ): Promise<void> {
    if (userIds.length === 0) return
    const p = this.#redis.pipeline()
    for (const userId of userIds) {
      const key = this.#key(userId)
      p.zadd(key, { score: atMs, member: blogId })
      // Ranks ascend from the lowest score: drop all but the `maxLen` highest.
      p.zremrangebyrank(key, 0, -(maxLen + 1))
    }
    await redisCall(() => p.exec())
  }

  async range(userId: string, r: FeedRange): Promise<FeedEntry[]> {
    if (r.limit <= 0) return []
    const max = r.max === null ? '+inf' : r.maxExclusive ? (`(${r.max}` as const) : r.max
    const min = r.min === undefined || r.min === null ? '-inf' : r.min
    const flat = await redisCall(() =>
      this.#redis.zrange<unknown[]>(this.#key(userId), max, min, {
        byScore: true,
        rev: true,
        withScores: true,
        offset: r.offset,
        count: r.limit,
      })
    )
    const entries: FeedEntry[] = []
    for (let i = 0; i + 1 < flat.length; i += 2) {
      entries.push({ blogId: replyText(flat[i]), score: Number(flat[i + 1]) })
    }
    return entries
  }

  async remove(userId: string, blogIds: readonly string[]): Promise<void> {
    if (blogIds.length === 0) return
    await redisCall(() => this.#redis.zrem(this.#key(userId), ...blogIds))
  }
}
