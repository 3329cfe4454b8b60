import { DomainError, PermanentFailure } from '../errors.ts'
import { isDecimalId } from '../ids.ts'
import type { BlogRepository } from '../ports/blogs.ts'
import type { Clock } from '../ports/clock.ts'
import type { FeedEntry, FeedInbox } from '../ports/feed.ts'
import type { FollowRepository } from '../ports/follows.ts'
import type { LikeIndex } from '../ports/likes.ts'
import type { Delivery, Queue, TopicHandler } from '../ports/queue.ts'
import { comesAfter, decodeCursor, encodeCursor, type FeedCursor, nextCursor } from './cursor.ts'
import type { SocialPolicy } from './policy.ts'
import { type BlogView, withLikedByMe } from './views.ts'

/** Queue topic of the feed fan-out: one message per new blog (plus follow-ups for big audiences). */
export const FEED_FANOUT_TOPIC = 'feed.fanout'

export interface FanoutMessage {
  blogId: string
  authorId: string
  /** The blog's creation time (Unix ms): its score in every inbox, so re-delivery is idempotent. */
  createdAt: number
  /** Followers with ids up to this one are done (follow-up messages); absent = from the start. */
  after?: string | null
}

export interface FeedDeps {
  clock: Clock
  queue: Queue
  blogs: BlogRepository
  follows: FollowRepository
  inbox: FeedInbox
  likeIndex: LikeIndex
  policy: SocialPolicy
  background(work: Promise<unknown>): void
}

/** Hands new blogs to the fan-out queue, then records that it accepted them. */
export async function queueFanout(
  deps: Pick<FeedDeps, 'queue' | 'blogs'>,
  blogs: readonly { id: string; author: { id: string }; createdAt: number }[]
): Promise<number> {
  for (const blog of blogs) {
    const message: FanoutMessage = {
      blogId: blog.id,
      authorId: blog.author.id,
      createdAt: blog.createdAt,
    }
    await deps.queue.publish(FEED_FANOUT_TOPIC, message, { dedupId: `fanout-${blog.id}` })
  }
  if (blogs.length > 0) await deps.blogs.markFannedOut(blogs.map((b) => b.id))
  return blogs.length
}

/**
 * The periodic safety net: blogs whose fan-out never reached the queue (the background publish
 * failed, or the process died first) are queued again. Only blogs older than `graceMs` are taken,
 * so a publish still in flight is not doubled (a doubled one would be harmless anyway).
 */
export async function sweepFanout(
  deps: Pick<FeedDeps, 'queue' | 'blogs' | 'clock'>,
  graceMs = 60_000,
  limit = 100
): Promise<number> {
  const pending = await deps.blogs.pendingFanout(deps.clock.now() - graceMs, limit)
  return queueFanout(deps, pending)
}

function fanoutMessage(body: unknown): FanoutMessage {
  const m = body as Partial<FanoutMessage> | null
  const after = m?.after
  if (
    typeof m?.blogId !== 'string' ||
    !isDecimalId(m.blogId) ||
    typeof m.authorId !== 'string' ||
    !isDecimalId(m.authorId) ||
    typeof m.createdAt !== 'number' ||
    !Number.isFinite(m.createdAt) ||
    !(after === undefined || after === null || isDecimalId(after))
  ) {
    throw new PermanentFailure('not a feed fan-out message')
  }
  return m as FanoutMessage
}

/**
 * Pushes one blog into its author's followers' inboxes, `fanoutBatch` followers per round trip.
 * After `fanoutBatchesPerMessage` batches it publishes a follow-up message for the rest, so one
 * delivery stays short however many followers there are. Safe to repeat (at-least-once delivery):
 * re-adding an entry with the same score changes nothing.
 */
export async function fanOut(
  deps: Pick<FeedDeps, 'follows' | 'inbox' | 'queue' | 'policy'>,
  message: FanoutMessage
): Promise<{ pushed: number; continued: boolean }> {
  const { fanoutBatch, fanoutBatchesPerMessage, inboxMax } = deps.policy.feed
  let after = message.after ?? null
  let pushed = 0
  for (let batch = 0; batch < fanoutBatchesPerMessage; batch++) {
    const followers = await deps.follows.followers(message.authorId, after, fanoutBatch)
    if (followers.length > 0) {
      await deps.inbox.push(followers, message.blogId, message.createdAt, inboxMax)
      pushed += followers.length
    }
    if (followers.length < fanoutBatch) return { pushed, continued: false }
    after = followers.at(-1)!
  }
  await deps.queue.publish(FEED_FANOUT_TOPIC, { ...message, after } satisfies FanoutMessage, {
    dedupId: `fanout-${message.blogId}-${after}`,
  })
  return { pushed, continued: true }
}

/** The consumer of FEED_FANOUT_TOPIC. */
export function fanoutConsumer(
  deps: Pick<FeedDeps, 'follows' | 'inbox' | 'queue' | 'policy'>
): TopicHandler<unknown> {
  return {
    async handle(delivery: Delivery<unknown>) {
      await fanOut(deps, fanoutMessage(delivery.body))
    },
    async deadLetter() {
      // Nothing to undo: inboxes that did get the blog keep it. The failure is logged by the
      // queue's consumer route; the blog still shows on its author's page.
    },
  }
}

/** Upper bound on entries sharing one score that a changed-inbox lookup reads. */
const SAME_SCORE_READ = 10_000

/**
 * One page of `userId`'s feed, newest first, after `cursorText` (absent = from the top). The
 * cursor is exact with any number of equal scores, and stays exact when entries are added or
 * removed above it meanwhile: the entry it ended on is checked, and if it moved, the position is
 * found by value (score, then blog id) instead of by offset.
 */
export async function readFeed(
  deps: Pick<FeedDeps, 'inbox' | 'blogs' | 'likeIndex' | 'background'>,
  userId: string,
  cursorText: string | undefined,
  limit: number
): Promise<{ items: BlogView[]; nextCursor: string | null }> {
  let cursor: FeedCursor | null = null
  if (cursorText !== undefined) {
    cursor = decodeCursor(cursorText)
    if (!cursor) {
      throw new DomainError('VALIDATION_FAILED', 'not a cursor this API returned', {
        field: 'cursor',
      })
    }
  }
  let entries: FeedEntry[]
  let seenBefore = 0
  if (!cursor) {
    entries = await deps.inbox.range(userId, { max: null, offset: 0, limit: limit + 1 })
  } else {
    // Fast path: re-read the page's last entry where the cursor says it is, plus one page more.
    const probe = await deps.inbox.range(userId, {
      max: cursor.score,
      offset: cursor.seen - 1,
      limit: limit + 2,
    })
    if (probe[0]?.blogId === cursor.last && probe[0].score === cursor.score) {
      entries = probe.slice(1)
      seenBefore = cursor.seen
    } else {
      const c = cursor
      const same = await deps.inbox.range(userId, {
        max: c.score,
        min: c.score,
        offset: 0,
        limit: SAME_SCORE_READ,
      })
      const after = same.filter((e) => comesAfter(e.blogId, c.last))
      seenBefore = same.length - after.length
      const below =
        after.length > limit
          ? []
          : await deps.inbox.range(userId, {
              max: c.score,
              maxExclusive: true,
              offset: 0,
              limit: limit + 1 - after.length,
            })
      entries = [...after, ...below]
    }
  }
  const page = entries.slice(0, limit)
  const next = entries.length > limit ? nextCursor(page, cursor, seenBefore) : null
  const ids = page.map((e) => e.blogId)
  const blogs = ids.length > 0 ? await deps.blogs.findByIds(ids) : []
  if (blogs.length < ids.length) {
    const found = new Set(blogs.map((b) => b.id))
    deps.background(
      deps.inbox.remove(
        userId,
        ids.filter((id) => !found.has(id))
      )
    )
  }
  const items = await withLikedByMe(deps, blogs, userId)
  return { items, nextCursor: next ? encodeCursor(next) : null }
}
