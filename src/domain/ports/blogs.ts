import type { Profile } from './profiles.ts'

/** A note ("探店笔记"): a user's review of a shop, with pictures. */
export interface Blog {
  /** Decimal string of a positive 64-bit integer (see User.id). */
  id: string
  author: Profile
  /** The reviewed shop (decimal id). */
  shopId: string
  title: string
  content: string
  /** Image URLs or paths, at most 9, first = cover. */
  images: string[]
  /** Number of likes: always equal to the number of rows in the likes relation for this blog. */
  likes: number
  /** Creation time, Unix epoch milliseconds (the app clock's, so also the feed score). */
  createdAt: number
}

export interface NewBlog {
  authorId: string
  shopId: string
  title: string
  content: string
  images: string[]
  /** Unix ms. */
  createdAt: number
}

/** One liker of a blog and when they liked it (Unix ms). */
export interface Liker {
  userId: string
  atMs: number
}

/** The committed truth about one (blog, user) pair: liked since `atMs`, or not liked (null). */
export interface LikeState {
  liked: boolean
  atMs: number | null
}

export interface LikeOutcome {
  /** false when the pair already was in the requested state (nothing was written). */
  changed: boolean
  state: LikeState
  /** The blog's like count after the change. */
  likes: number
}

/**
 * Runs inside the repository's transaction, after the change is written and before it commits,
 * while the rows that order writes to this blog are locked: a Redis write that must follow the
 * database in commit order. If it rejects, the transaction rolls back.
 */
export type UnderBlogLock<T> = (value: T) => Promise<void>

/**
 * Blogs and their likes in the system of record (Postgres). Ids that are not canonical decimals of
 * a positive int8 name nothing: lookups miss (null/empty) rather than throw. Pages are
 * `offset`/`limit` windows.
 *
 * Likes: a like is one row per (blog, user) (a unique key), and the count changes in the same
 * transaction as the row, only when a row really was inserted or deleted, so the count equals the
 * number of likers at every commit. Conflicting writes are serialised by the database: writes of
 * one pair by that pair's row, a count change by the blog's row (held to commit), and `syncLike`/
 * `syncLikers` take the blog's row lock before reading. So `apply` callbacks that touch the same
 * liker run in the order their transactions commit.
 */
export interface BlogRepository {
  /**
   * Inserts a blog (likes = 0), marked as not yet handed to the feed fan-out. Rejects with
   * DomainError('VALIDATION_FAILED') naming `shopId` or `authorId` when that does not exist.
   */
  create(blog: NewBlog): Promise<Blog>
  /** The blog with this id, or null. */
  findById(id: string): Promise<Blog | null>
  /** The blogs of `ids` in the order given; absent ones are left out. */
  findByIds(ids: readonly string[]): Promise<Blog[]>
  /** Most liked first (equal counts: newest first). */
  hot(offset: number, limit: number): Promise<Blog[]>
  /** One author's blogs, newest first (by id, descending). */
  byAuthor(authorId: string, offset: number, limit: number): Promise<Blog[]>
  /**
   * Sets whether `userId` likes `blogId` (a new like is dated `atMs`). When that changes anything,
   * `apply` gets the new state inside the transaction (see UnderBlogLock) and the change commits
   * only if `apply` resolves; when the pair already was in that state nothing is written and
   * `apply` is not called. Null when the blog does not exist; rejects with
   * DomainError('VALIDATION_FAILED', field `userId`) when the user does not.
   */
  setLike(
    blogId: string,
    userId: string,
    like: boolean,
    atMs: number,
    apply: UnderBlogLock<LikeState>
  ): Promise<LikeOutcome | null>
  /**
   * Reads the pair's committed state under the blog's row lock and hands it to `apply` (a repair
   * after a failed commit). false when the blog does not exist.
   */
  syncLike(blogId: string, userId: string, apply: UnderBlogLock<LikeState>): Promise<boolean>
  /**
   * Hands every liker of the blog (earliest first) to `apply` under the blog's row lock, so no like
   * can commit in between (a rebuild of a cache). false when the blog does not exist.
   */
  syncLikers(blogId: string, apply: UnderBlogLock<Liker[]>): Promise<boolean>
  /** Blogs created at or before `createdBefore` (Unix ms) whose fan-out is not yet queued, oldest first. */
  pendingFanout(createdBefore: number, limit: number): Promise<Blog[]>
  /** Records that the fan-out of these blogs was accepted by the queue. Idempotent. */
  markFannedOut(ids: readonly string[]): Promise<void>
}
