import type { FollowIndex } from '../../domain/ports/follows.ts'
import { type Redis, redisCall } from './client.ts'
import { chunks, replyText } from './text.ts'

/**
 * Followees as one set per user, `<prefix>follows:{<userId>}`. Common follows = SINTER of two
 * users' sets (two hash slots: fine on Upstash, which is not a cluster from the client's view).
 */
export class UpstashFollowIndex implements FollowIndex {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  #key(userId: string): string {
    return `${this.#prefix}follows:{${userId}}`
  }

  async put(followerId: string, followeeId: string, following: boolean): Promise<void> {
    const key = this.#key(followerId)
    await redisCall(() =>
      following ? this.#redis.sadd(key, followeeId) : this.#redis.srem(key, followeeId)
    )
  }

  async common(a: string, b: string): Promise<{ ids: string[]; missing: string[] }> {
    const users = [...new Set([a, b])]
    const p = this.#redis.pipeline()
    for (const u of users) p.exists(this.#key(u))
    p.sinter(this.#key(a), this.#key(b))
    const replies = await redisCall(() => p.exec<unknown[]>())
    const missing = users.filter((_, i) => replies[i] === 0)
    const members = (replies[users.length] as unknown[] | null) ?? []
    return { ids: members.map(replyText), missing }
  }

  async replace(followerId: string, followeeIds: readonly string[]): Promise<void> {
    const key = this.#key(followerId)
    const tx = this.#redis.multi().del(key)
    for (const [first, ...rest] of chunks(followeeIds, 1000)) tx.sadd(key, first!, ...rest)
    await redisCall(() => tx.exec())
  }
}
