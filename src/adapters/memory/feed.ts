import type { FeedEntry, FeedInbox, FeedRange } from '../../domain/ports/feed.ts'

/** Feed order: score descending, then blog id descending (bytewise), as ZREVRANGEBYSCORE. */
function feedOrder(a: FeedEntry, b: FeedEntry): number {
  return b.score - a.score || (a.blogId < b.blogId ? 1 : a.blogId > b.blogId ? -1 : 0)
}

/** Inboxes in Maps with the Redis sorted-set semantics of UpstashFeedInbox. */
export class MemoryFeedInbox implements FeedInbox {
  readonly #inboxes = new Map<string, Map<string, number>>()

  #sorted(userId: string): FeedEntry[] {
    const inbox = this.#inboxes.get(userId)
    if (!inbox) return []
    return [...inbox].map(([blogId, score]) => ({ blogId, score })).sort(feedOrder)
  }

  async push(
    userIds: readonly string[],
    blogId: string,
    atMs: number,
    maxLen: number
  ): Promise<void> {
    for (const userId of userIds) {
      const inbox = this.#inboxes.get(userId) ?? new Map<string, number>()
      inbox.set(blogId, atMs)
      this.#inboxes.set(userId, inbox)
      if (inbox.size > maxLen) {
        for (const e of this.#sorted(userId).slice(Math.max(0, maxLen))) inbox.delete(e.blogId)
        if (inbox.size === 0) this.#inboxes.delete(userId)
      }
    }
  }

  async range(userId: string, r: FeedRange): Promise<FeedEntry[]> {
    const within = this.#sorted(userId).filter(
      (e) =>
        (r.max === null || (r.maxExclusive ? e.score < r.max : e.score <= r.max)) &&
        (r.min === undefined || r.min === null || e.score >= r.min)
    )
    return within.slice(r.offset, r.offset + Math.max(0, r.limit))
  }

  async remove(userId: string, blogIds: readonly string[]): Promise<void> {
    const inbox = this.#inboxes.get(userId)
    if (!inbox) return
    for (const id of blogIds) inbox.delete(id)
    if (inbox.size === 0) this.#inboxes.delete(userId)
  }
}
