/** One item of a feed inbox: a blog and its score (the blog's creation time, Unix ms). */
export interface FeedEntry {
  blogId: string
  score: number
}

/** A window of an inbox in feed order. */
export interface FeedRange {
  /** Highest score included; null = no upper bound. */
  max: number | null
  /** true: scores strictly below `max`. */
  maxExclusive?: boolean
  /** Lowest score included; null/absent = no lower bound. */
  min?: number | null
  /** Entries of the window to skip first. */
  offset: number
  limit: number
}

/**
 * Per-user feed inboxes (push model): a Redis sorted set per user of the blogs pushed to them.
 * Feed order is score descending, then blog id descending (bytewise), which is a total order, so
 * equal scores are still ordered. Every method is one round trip; when the store cannot be
 * reached, methods reject with `DependencyUnavailable('redis')`.
 */
export interface FeedInbox {
  /**
   * Adds `blogId` with score `atMs` to the inbox of every user in `userIds` (re-adding is a no-op:
   * idempotent), then trims each inbox to its `maxLen` highest entries (ties: the lowest-ordered
   * go). All inboxes in one round trip.
   */
  push(userIds: readonly string[], blogId: string, atMs: number, maxLen: number): Promise<void>
  /** Entries of `userId`'s inbox within `range`, in feed order. An absent inbox is empty. */
  range(userId: string, range: FeedRange): Promise<FeedEntry[]>
  /** Removes blogs from an inbox (e.g. deleted ones). Absent entries are ignored. */
  remove(userId: string, blogIds: readonly string[]): Promise<void>
}
