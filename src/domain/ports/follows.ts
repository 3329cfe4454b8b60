/**
 * Runs inside the repository's transaction, after the change is written and before it commits,
 * while the follower's lock is held (see FollowRepository). If it rejects, the transaction rolls
 * back.
 */
export type UnderFollowerLock<T> = (value: T) => Promise<void>

export interface FollowOutcome {
  /** false when the pair already was in the requested state (nothing was written). */
  changed: boolean
  following: boolean
}

export interface FollowCounts {
  /** Users following this one. */
  followers: number
  /** Users this one follows. */
  followees: number
}

/**
 * Who follows whom, in the system of record (Postgres): at most one row per (follower, followee)
 * pair, enforced by a unique index, and never a user following themself (a CHECK). Ids that are
 * not canonical decimals name nobody.
 *
 * Every change of a follower's follows, and every `syncFollowees`, takes a lock on that follower
 * (held to commit) first, so the `apply` callbacks run in the order their transactions commit.
 */
export interface FollowRepository {
  /**
   * Sets whether `followerId` follows `followeeId` (a new follow is dated `atMs`). When that
   * changes anything, `apply(following)` runs inside the transaction under the follower's lock and
   * the change commits only if it resolves; when nothing changes, `apply` is not called. Null when
   * the followee does not exist. Following oneself is refused by the database (a CHECK); callers
   * check first.
   */
  setFollow(
    followerId: string,
    followeeId: string,
    follow: boolean,
    atMs: number,
    apply: UnderFollowerLock<boolean>
  ): Promise<FollowOutcome | null>
  /** Whether `followerId` follows `followeeId`. */
  isFollowing(followerId: string, followeeId: string): Promise<boolean>
  /** Follower and followee counts (zero for an unknown user). */
  counts(userId: string): Promise<FollowCounts>
  /**
   * Up to `limit` followers of `userId` with ids greater than `afterId` (null = from the start),
   * ascending by id: keyset pages for the feed fan-out.
   */
  followers(userId: string, afterId: string | null, limit: number): Promise<string[]>
  /**
   * Hands every followee of `followerId` to `apply` under the follower's lock (a rebuild of a cache).
   * false when the user does not exist.
   */
  syncFollowees(followerId: string, apply: UnderFollowerLock<string[]>): Promise<boolean>
}

/**
 * Each user's followees as a Redis set, for set algebra (common follows). It mirrors
 * FollowRepository and is written only with the state it hands over under the follower's lock. Every
 * method is one round trip; when the store cannot be reached, methods reject with
 * `DependencyUnavailable('redis')`.
 */
export interface FollowIndex {
  /** Adds (`following` true) or removes `followeeId` in the set of `followerId`. Idempotent. */
  put(followerId: string, followeeId: string, following: boolean): Promise<void>
  /**
   * The users both `a` and `b` follow (set intersection, in no particular order), and which of the
   * two have no set at all: an empty set and a never-built one look the same, so the caller decides
   * (with the system of record) whether to rebuild.
   */
  common(a: string, b: string): Promise<{ ids: string[]; missing: string[] }>
  /** Replaces the whole set of `followerId` in one atomic step (a rebuild). */
  replace(followerId: string, followeeIds: readonly string[]): Promise<void>
}
