import { sql } from 'drizzle-orm'
import {
  bigint,
  boolean,
  check,
  index,
  integer,
  pgTable,
  primaryKey,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core'
import { shops, users } from './schema.ts'

/**
 * Blogs (notes). `liked` is the like count: it changes only in the transaction that inserts or
 * deletes a `blog_likes` row, so it always equals that blog's row count. `fanout_pending` is the
 * outbox flag of the feed fan-out (true until the queue accepted the blog's message).
 */
export const blogs = pgTable(
  'blogs',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    authorId: bigint('author_id', { mode: 'bigint' })
      .notNull()
      .references(() => users.id),
    shopId: bigint('shop_id', { mode: 'bigint' })
      .notNull()
      .references(() => shops.id),
    title: varchar('title', { length: 100 }).notNull(),
    content: text('content').notNull(),
    images: text('images').array().notNull().default(sql`'{}'::text[]`),
    liked: integer('liked').notNull().default(0),
    fanoutPending: boolean('fanout_pending').notNull().default(true),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    index('blogs_author_id_idx').on(t.authorId, t.id),
    index('blogs_hot_idx').on(t.liked.desc(), t.id.desc()),
    index('blogs_fanout_pending_idx').on(t.createdAt).where(sql`${t.fanoutPending}`),
    check('blogs_liked_nonnegative', sql`${t.liked} >= 0`),
    check('blogs_images_max', sql`cardinality(${t.images}) <= 9`),
  ]
)

/** One row per (blog, liker): the truth behind the likes ZSET. Time = the like's time. */
export const blogLikes = pgTable(
  'blog_likes',
  {
    blogId: bigint('blog_id', { mode: 'bigint' })
      .notNull()
      .references(() => blogs.id, { onDelete: 'cascade' }),
    userId: bigint('user_id', { mode: 'bigint' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'blog_likes_pkey', columns: [t.blogId, t.userId] }),
    index('blog_likes_blog_time_idx').on(t.blogId, t.createdAt),
  ]
)

/**
 * Who follows whom. The primary key is the unique index on (follower_id, followee_id): one
 * follow per pair, whatever the concurrency. Nobody follows themself (CHECK).
 */
export const follows = pgTable(
  'follows',
  {
    followerId: bigint('follower_id', { mode: 'bigint' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    followeeId: bigint('followee_id', { mode: 'bigint' })
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull(),
  },
  (t) => [
    primaryKey({ name: 'follows_pkey', columns: [t.followerId, t.followeeId] }),
    index('follows_followee_id_idx').on(t.followeeId, t.followerId),
    check('follows_not_self', sql`${t.followerId} <> ${t.followeeId}`),
  ]
)

export type BlogRow = typeof blogs.$inferSelect
