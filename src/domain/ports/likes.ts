import type { Liker } from './blogs.ts'

/**
 * Who liked each blog, ordered by when: a Redis sorted set per blog (member = user id, score = like
 * time in Unix ms). It mirrors the system of record (BlogRepository); the use cases write it only
 * with the state the repository hands them under the blog's lock. Keys are logical (adapters add the
 * deployment's prefix). Every method is one round trip; when the store cannot be reached, methods
 * reject with `DependencyUnavailable('redis')`.
 */
export interface LikeIndex {
  /** Makes `userId` a liker of `blogId` since `atMs`, or (atMs null) not a liker. Idempotent. */
  put(blogId: string, userId: string, atMs: number | null): Promise<void>
  /** For each of `blogIds` (in order), whether `userId` likes it. */
  likedBy(blogIds: readonly string[], userId: string): Promise<boolean[]>
  /** The `limit` earliest likers, earliest first; equal times by user id (bytewise, ascending). */
  earliest(blogId: string, limit: number): Promise<Liker[]>
  /** How many likers the blog has. */
  count(blogId: string): Promise<number>
  /** Replaces all likers of the blog in one atomic step (a rebuild). */
  replace(blogId: string, likers: readonly Liker[]): Promise<void>
}
