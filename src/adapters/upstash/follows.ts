import type { FollowIndex } from '../../domain/ports/follows.ts'
import { type Redis, redisCall } from './client.ts'
import { chunks, replyText } from './text.ts'

/**
 * Followees as one set per user, `<prefix>follows:{<userId>}`. Common follows: both users' sets
 * are read in one pipeline (SMEMBERS each) and intersected here, not with SINTER: the two sets
 * live in two hash slots, which a Redis Cluster refuses in one command (CROSSSLOT). A followee set
 * is bounded (one user's follows), so reading both costs little more than SINTER's reply.
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
    for (const u of users) p.smembers(this.#key(u))
    const sets = (await redisCall(() => p.exec<unknown[][]>())).map((m) => m.map(replyText))
    // An emptied set is deleted by Redis: no members = no set.
    const missing = users.filter((_, i) => sets[i]!.length === 0)
    if (users.length === 1) return { ids: sets[0]!, missing }
    const other = new Set(sets[1])
    return { ids: sets[0]!.filter((id) => other.has(id)), missing }
  }

  async replace(followerId: string, followeeIds: readonly string[]): Promise<void> {
    const key = this.#key(followerId)
    const tx = this.#redis.multi().del(key)
    for (const [first, ...rest] of chunks(followeeIds, 1000)) tx.sadd(key, first!, ...rest)
    await redisCall(() => tx.exec())
  }
}
