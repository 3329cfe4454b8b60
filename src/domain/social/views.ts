import type { Blog } from '../ports/blogs.ts'
import type { LikeIndex } from '../ports/likes.ts'

/** A blog as one viewer sees it. */
export interface BlogView extends Blog {
  /** Whether the viewer likes it (false for anonymous viewers). */
  likedByMe: boolean
}

/** Adds `likedByMe` for `viewerId` (one round trip for all; none for anonymous viewers). */
export async function withLikedByMe(
  deps: { likeIndex: LikeIndex },
  blogs: readonly Blog[],
  viewerId: string | null
): Promise<BlogView[]> {
  if (!viewerId || blogs.length === 0) return blogs.map((b) => ({ ...b, likedByMe: false }))
  const liked = await deps.likeIndex.likedBy(
    blogs.map((b) => b.id),
    viewerId
  )
  return blogs.map((b, i) => ({ ...b, likedByMe: liked[i] ?? false }))
}
