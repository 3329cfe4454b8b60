import type { Liker } from '../../domain/ports/blogs.ts'
import type { LikeIndex } from '../../domain/ports/likes.ts'

/** Likers per blog in Maps, ordered like the Redis sorted set (time, then user id bytewise). */
export class MemoryLikeIndex implements LikeIndex {
  readonly #likers = new Map<string, Map<string, number>>()

  async put(blogId: string, userId: string, atMs: number | null): Promise<void> {
    const likers = this.#likers.get(blogId) ?? new Map<string, number>()
    if (atMs === null) likers.delete(userId)
    else likers.set(userId, atMs)
    if (likers.size > 0) this.#likers.set(blogId, likers)
    else this.#likers.delete(blogId)
  }

  async likedBy(blogIds: readonly string[], userId: string): Promise<boolean[]> {
    return blogIds.map((id) => this.#likers.get(id)?.has(userId) ?? false)
  }

  async earliest(blogId: string, limit: number): Promise<Liker[]> {
    const likers = [...(this.#likers.get(blogId) ?? [])].map(([userId, atMs]) => ({ userId, atMs }))
    likers.sort(
      (a, b) => a.atMs - b.atMs || (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
    )
    return likers.slice(0, Math.max(0, limit))
  }

  async count(blogId: string): Promise<number> {
    return this.#likers.get(blogId)?.size ?? 0
  }

  async replace(blogId: string, likers: readonly Liker[]): Promise<void> {
    if (likers.length === 0) this.#likers.delete(blogId)
    else this.#likers.set(blogId, new Map(likers.map((l) => [l.userId, l.atMs])))
  }
}
