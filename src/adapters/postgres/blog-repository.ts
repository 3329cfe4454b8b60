import { and, asc, desc, eq, inArray, lte, sql } from 'drizzle-orm'
import { DomainError } from '../../domain/errors.ts'
import type {
  Blog,
  BlogRepository,
  LikeOutcome,
  Liker,
  LikeState,
  NewBlog,
  UnderBlogLock,
} from '../../domain/ports/blogs.ts'
import type { Database } from './db.ts'
import { idKey, idKeys, pgError } from './ids.ts'
import { users } from './schema.ts'
import { blogLikes, blogs } from './schema-social.ts'

/** Columns of a blog with its author (blogs ⋈ users). */
const blogColumns = {
  id: blogs.id,
  shopId: blogs.shopId,
  title: blogs.title,
  content: blogs.content,
  images: blogs.images,
  liked: blogs.liked,
  createdAt: blogs.createdAt,
  authorId: users.id,
  nickname: users.nickname,
  icon: users.icon,
}

type BlogJoinRow = {
  id: bigint
  shopId: bigint
  title: string
  content: string
  images: string[]
  liked: number
  createdAt: Date
  authorId: bigint
  nickname: string
  icon: string
}

function toBlog(r: BlogJoinRow): Blog {
  return {
    id: r.id.toString(),
    author: { id: r.authorId.toString(), nickname: r.nickname, icon: r.icon },
    shopId: r.shopId.toString(),
    title: r.title,
    content: r.content,
    images: r.images,
    likes: r.liked,
    createdAt: r.createdAt.getTime(),
  }
}

/** Unix ms of a timestamptz column, exact (epoch seconds are numeric, scaled before the cast). */
const epochMs = (column: unknown) => sql`(extract(epoch from ${column}) * 1000)::float8`

/**
 * Blogs and likes in Postgres. A like or unlike is ONE statement in a transaction: a CTE inserts
 * (or deletes) the like row and moves `blogs.liked` only if a row was really inserted (deleted);
 * the counter's UPDATE holds the blog row lock until commit, and `apply` runs before the commit.
 */
export class DrizzleBlogRepository implements BlogRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  #select() {
    return this.#db.select(blogColumns).from(blogs).innerJoin(users, eq(users.id, blogs.authorId))
  }

  async create(blog: NewBlog): Promise<Blog> {
    const authorId = idKey(blog.authorId)
    const shopId = idKey(blog.shopId)
    if (authorId === null) throw invalid('authorId', 'No such user')
    if (shopId === null) throw invalid('shopId', 'No such shop')
    let id: bigint
    try {
      const [row] = await this.#db
        .insert(blogs)
        .values({
          authorId,
          shopId,
          title: blog.title,
          content: blog.content,
          images: blog.images,
          createdAt: new Date(blog.createdAt),
        })
        .returning({ id: blogs.id })
      id = row!.id
    } catch (e) {
      const err = pgError(e)
      if (err?.code === '23503' && err.constraint?.includes('shop')) {
        throw invalid('shopId', 'No such shop')
      }
      if (err?.code === '23503') throw invalid('authorId', 'No such user')
      throw e
    }
    const [row] = await this.#select().where(eq(blogs.id, id))
    return toBlog(row!)
  }

  async findById(id: string): Promise<Blog | null> {
    const key = idKey(id)
    if (key === null) return null
    const [row] = await this.#select().where(eq(blogs.id, key)).limit(1)
    return row ? toBlog(row) : null
  }

  async findByIds(ids: readonly string[]): Promise<Blog[]> {
    const keys = idKeys(ids)
    if (keys.length === 0) return []
    const rows = await this.#select().where(inArray(blogs.id, keys))
    const byId = new Map(rows.map((r) => [r.id.toString(), toBlog(r)]))
    return [...new Set(ids)].flatMap((id) => byId.get(id) ?? [])
  }

  async hot(offset: number, limit: number): Promise<Blog[]> {
    const rows = await this.#select()
      .orderBy(desc(blogs.liked), desc(blogs.id))
      .offset(offset)
      .limit(limit)
    return rows.map(toBlog)
  }

  async byAuthor(authorId: string, offset: number, limit: number): Promise<Blog[]> {
    const key = idKey(authorId)
    if (key === null) return []
    const rows = await this.#select()
      .where(eq(blogs.authorId, key))
      .orderBy(desc(blogs.id))
      .offset(offset)
      .limit(limit)
    return rows.map(toBlog)
  }

  async setLike(
    blogId: string,
    userId: string,
    like: boolean,
    atMs: number,
    apply: UnderBlogLock<LikeState>
  ): Promise<LikeOutcome | null> {
    const b = idKey(blogId)
    const u = idKey(userId)
    if (b === null) return null
    if (u === null) throw invalid('userId', 'No such user')
    const blog = b.toString()
    const user = u.toString()
    try {
      return await this.#db.transaction(async (tx) => {
        // One statement: the like row and the counter move together, only on a real change.
        const { rows } = like
          ? await tx.execute<{ liked: number | null; at_ms: number | null }>(sql`
              with ins as (
                insert into blog_likes (blog_id, user_id, created_at)
                select id, ${user}::bigint, ${new Date(atMs).toISOString()}::timestamptz
                from blogs where id = ${blog}::bigint
                on conflict do nothing
                returning created_at
              ), upd as (
                update blogs set liked = liked + 1
                where id = ${blog}::bigint and exists (select 1 from ins)
                returning liked
              )
              select (select liked from upd) as liked,
                     (select ${epochMs(sql`created_at`)} from ins) as at_ms`)
          : await tx.execute<{ liked: number | null; at_ms: number | null }>(sql`
              with del as (
                delete from blog_likes where blog_id = ${blog}::bigint and user_id = ${user}::bigint
                returning 1
              ), upd as (
                update blogs set liked = liked - 1
                where id = ${blog}::bigint and exists (select 1 from del)
                returning liked
              )
              select (select liked from upd) as liked, null::float8 as at_ms`)
        const changed = rows[0]?.liked ?? null
        if (changed !== null) {
          const state: LikeState = like
            ? { liked: true, atMs: Number(rows[0]!.at_ms) }
            : { liked: false, atMs: null }
          await apply(state)
          return { changed: true, state, likes: Number(changed) }
        }
        // Nothing changed: report the committed state (or that the blog does not exist).
        const [current] = await tx
          .select({ liked: blogs.liked, atMs: sql<number | null>`${epochMs(blogLikes.createdAt)}` })
          .from(blogs)
          .leftJoin(blogLikes, and(eq(blogLikes.blogId, blogs.id), eq(blogLikes.userId, u)))
          .where(eq(blogs.id, b))
        if (!current) return null
        const at = current.atMs === null ? null : Number(current.atMs)
        return { changed: false, state: { liked: at !== null, atMs: at }, likes: current.liked }
      })
    } catch (e) {
      if (pgError(e)?.code === '23503') throw invalid('userId', 'No such user')
      throw e
    }
  }

  async syncLike(blogId: string, userId: string, apply: UnderBlogLock<LikeState>) {
    const b = idKey(blogId)
    const u = idKey(userId)
    if (b === null) return false
    return this.#db.transaction(async (tx) => {
      if (!(await lockBlog(tx, b))) return false
      // A new statement after the lock: its snapshot includes every commit before ours.
      const [row] =
        u === null
          ? []
          : await tx
              .select({ atMs: sql<number>`${epochMs(blogLikes.createdAt)}` })
              .from(blogLikes)
              .where(and(eq(blogLikes.blogId, b), eq(blogLikes.userId, u)))
      await apply(row ? { liked: true, atMs: Number(row.atMs) } : { liked: false, atMs: null })
      return true
    })
  }

  async syncLikers(blogId: string, apply: UnderBlogLock<Liker[]>): Promise<boolean> {
    const b = idKey(blogId)
    if (b === null) return false
    return this.#db.transaction(async (tx) => {
      if (!(await lockBlog(tx, b))) return false
      const rows = await tx
        .select({ userId: blogLikes.userId, atMs: sql<number>`${epochMs(blogLikes.createdAt)}` })
        .from(blogLikes)
        .where(eq(blogLikes.blogId, b))
        .orderBy(asc(blogLikes.createdAt), asc(blogLikes.userId))
      await apply(rows.map((r) => ({ userId: r.userId.toString(), atMs: Number(r.atMs) })))
      return true
    })
  }

  async pendingFanout(createdBefore: number, limit: number): Promise<Blog[]> {
    const rows = await this.#select()
      .where(and(eq(blogs.fanoutPending, true), lte(blogs.createdAt, new Date(createdBefore))))
      .orderBy(asc(blogs.createdAt), asc(blogs.id))
      .limit(limit)
    return rows.map(toBlog)
  }

  async markFannedOut(ids: readonly string[]): Promise<void> {
    const keys = idKeys(ids)
    if (keys.length === 0) return
    await this.#db
      .update(blogs)
      .set({ fanoutPending: false })
      .where(and(inArray(blogs.id, keys), eq(blogs.fanoutPending, true)))
  }
}

function invalid(field: string, message: string): DomainError {
  return new DomainError('VALIDATION_FAILED', message, { field })
}

/** Locks the blog row (FOR NO KEY UPDATE) in `tx`; false when the blog does not exist. */
async function lockBlog(tx: Pick<Database, 'select'>, blogId: bigint): Promise<boolean> {
  const [locked] = await tx
    .select({ id: blogs.id })
    .from(blogs)
    .where(eq(blogs.id, blogId))
    .for('no key update')
  return locked !== undefined
}
