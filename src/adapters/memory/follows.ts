import type { FollowIndex } from '../../domain/ports/follows.ts'

/** Followee sets in Maps; like Redis, an emptied set no longer exists. */
export class MemoryFollowIndex implements FollowIndex {
  readonly #sets = new Map<string, Set<string>>()

  async put(followerId: string, followeeId: string, following: boolean): Promise<void> {
    const set = this.#sets.get(followerId) ?? new Set<string>()
    if (following) set.add(followeeId)
    else set.delete(followeeId)
    if (set.size > 0) this.#sets.set(followerId, set)
    else this.#sets.delete(followerId)
  }

  async common(a: string, b: string): Promise<{ ids: string[]; missing: string[] }> {
    const x = this.#sets.get(a)
    const y = this.#sets.get(b)
    const missing = [...new Set([a, b])].filter((id) => !this.#sets.has(id))
    const ids = x && y ? [...x].filter((id) => y.has(id)) : []
    return { ids, missing }
  }

  async replace(followerId: string, followeeIds: readonly string[]): Promise<void> {
    if (followeeIds.length === 0) this.#sets.delete(followerId)
    else this.#sets.set(followerId, new Set(followeeIds))
  }
}
