import { DomainError } from '../errors.ts'
import type { BlogRepository, LikeState } from '../ports/blogs.ts'
import type { Clock } from '../ports/clock.ts'
import type { LikeIndex } from '../ports/likes.ts'
import type { Profile, ProfileDirectory } from '../ports/profiles.ts'
import type { Queue } from '../ports/queue.ts'
import { queueFanout } from './feed.ts'
import { type BlogView, withLikedByMe } from './views.ts'

export type { BlogView }

export interface BlogDeps {
  clock: Clock
  queue: Queue
  blogs: BlogRepository
  likeIndex: LikeIndex
  profiles: ProfileDirectory
  background(work: Promise<unknown>): void
}

export interface BlogInput {
  shopId: string
  title: string
  content: string
  images: string[]
}

/** How many likers GET /blogs/{id}/likes shows (the original's "top 5"; it returned 7). */
export const EARLIEST_LIKERS = 5

function notFound(id: string): DomainError {
  return new DomainError('BLOG_NOT_FOUND', 'No such blog', { blogId: id })
}

/**
 * Publishes a blog about an existing shop (else VALIDATION_FAILED naming `shopId`). The response
 * does not wait for the feed: the fan-out is handed to the queue in the background, and a
 * periodic sweep re-queues any hand-off that failed.
 */
export async function createBlog(
  deps: BlogDeps,
  authorId: string,
  input: BlogInput
): Promise<BlogView> {
  const blog = await deps.blogs.create({ ...input, authorId, createdAt: deps.clock.now() })
  deps.background(queueFanout(deps, [blog]))
  return { ...blog, likedByMe: false }
}

export async function getBlog(
  deps: BlogDeps,
  id: string,
  viewerId: string | null
): Promise<BlogView> {
  const [blog, liked] = await Promise.all([
    deps.blogs.findById(id),
    viewerId ? deps.likeIndex.likedBy([id], viewerId) : Promise.resolve([false]),
  ])
  if (!blog) throw notFound(id)
  return { ...blog, likedByMe: liked[0] ?? false }
}

export async function hotBlogs(
  deps: BlogDeps,
  page: number,
  size: number,
  viewerId: string | null
): Promise<BlogView[]> {
  return withLikedByMe(deps, await deps.blogs.hot((page - 1) * size, size), viewerId)
}

export async function blogsOf(
  deps: BlogDeps,
  authorId: string,
  page: number,
  size: number,
  viewerId: string | null
): Promise<BlogView[]> {
  const [author] = await deps.profiles.profiles([authorId])
  if (!author) throw new DomainError('USER_NOT_FOUND', 'No such user', { userId: authorId })
  return withLikedByMe(deps, await deps.blogs.byAuthor(authorId, (page - 1) * size, size), viewerId)
}

/**
 * Likes (`like` true) or unlikes a blog, idempotently. The like row and the counter change in one
 * transaction, and the likers index is written inside it (before the commit, with the locks that
 * order writes still held) from the state that transaction commits: concurrent toggles reach Redis
 * in commit order, so the index and the count cannot drift apart. If Redis fails, the transaction
 * rolls back (503, nothing changed); if the commit fails after Redis was written, the pair is
 * re-synchronised from the database in the background.
 */
export async function setLike(
  deps: BlogDeps,
  blogId: string,
  userId: string,
  like: boolean
): Promise<{ liked: boolean; likes: number; changed: boolean }> {
  let written = false
  const apply = async (state: LikeState) => {
    written = true
    await deps.likeIndex.put(blogId, userId, state.liked ? state.atMs : null)
  }
  try {
    const outcome = await deps.blogs.setLike(blogId, userId, like, deps.clock.now(), apply)
    if (!outcome) throw notFound(blogId)
    return { liked: outcome.state.liked, likes: outcome.likes, changed: outcome.changed }
  } catch (e) {
    if (written) deps.background(deps.blogs.syncLike(blogId, userId, apply))
    throw e
  }
}

/** The earliest likers (earliest first), from the index. */
export async function earliestLikers(
  deps: BlogDeps,
  blogId: string,
  limit = EARLIEST_LIKERS
): Promise<Profile[]> {
  const [blog, likers] = await Promise.all([
    deps.blogs.findById(blogId),
    deps.likeIndex.earliest(blogId, limit),
  ])
  if (!blog) throw notFound(blogId)
  return deps.profiles.profiles(likers.map((l) => l.userId))
}

/** Rebuilds a blog's likers index from the database (admin repair). Returns the liker count. */
export async function rebuildLikers(deps: BlogDeps, blogId: string): Promise<number> {
  let count = 0
  const found = await deps.blogs.syncLikers(blogId, async (likers) => {
    count = likers.length
    await deps.likeIndex.replace(blogId, likers)
  })
  if (!found) throw notFound(blogId)
  return count
}
