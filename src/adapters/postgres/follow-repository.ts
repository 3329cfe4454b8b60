import { and, asc, count, eq, gt, sql } from 'drizzle-orm'
import type {
  FollowCounts,
  FollowOutcome,
  FollowRepository,
  UnderFollowerLock,
} from '../../domain/ports/follows.ts'
import type { Database } from './db.ts'
import { idKey } from './ids.ts'
import { users } from './schema.ts'
import { follows } from './schema-social.ts'

/** The follower lock: a transaction-scoped advisory lock on a hash of the follower id. */
const followerLock = (follower: string) =>
  sql`select pg_advisory_xact_lock(hashtextextended(${`follows:${follower}`}, 0))`

/**
 * Follows in Postgres. Every change and every rebuild read of one follower first takes a
 * transaction-scoped advisory lock on that follower (`pg_advisory_xact_lock`), so their `apply`
 * callbacks (Redis writes) happen in commit order. The pair's primary key makes a second follow a
 * no-op, however many requests race.
 */
export class DrizzleFollowRepository implements FollowRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  async setFollow(
    followerId: string,
    followeeId: string,
    follow: boolean,
    atMs: number,
    apply: UnderFollowerLock<boolean>
  ): Promise<FollowOutcome | null> {
    const f = idKey(followerId)
    const t = idKey(followeeId)
    if (f === null || t === null) return null
    return this.#db.transaction(async (tx) => {
      await tx.execute(followerLock(f.toString()))
      const { rows } = follow
        ? await tx.execute<{ n: number }>(sql`
            with ins as (
              insert into follows (follower_id, followee_id, created_at)
              select ${f.toString()}::bigint, id, ${new Date(atMs).toISOString()}::timestamptz
              from users where id = ${t.toString()}::bigint
              on conflict do nothing
              returning 1
            )
            select count(*)::int as n from ins`)
        : await tx.execute<{ n: number }>(sql`
            with del as (
              delete from follows
              where follower_id = ${f.toString()}::bigint and followee_id = ${t.toString()}::bigint
              returning 1
            )
            select count(*)::int as n from del`)
      if (Number(rows[0]?.n) > 0) {
        await apply(follow)
        return { changed: true, following: follow }
      }
      const [target] = await tx.select({ id: users.id }).from(users).where(eq(users.id, t))
      if (!target) return null
      const [pair] = await tx
        .select({ n: count() })
        .from(follows)
        .where(and(eq(follows.followerId, f), eq(follows.followeeId, t)))
      return { changed: false, following: Number(pair?.n) > 0 }
    })
  }

  async isFollowing(followerId: string, followeeId: string): Promise<boolean> {
    const f = idKey(followerId)
    const t = idKey(followeeId)
    if (f === null || t === null) return false
    const rows = await this.#db
      .select({ one: sql`1` })
      .from(follows)
      .where(and(eq(follows.followerId, f), eq(follows.followeeId, t)))
      .limit(1)
    return rows.length > 0
  }

  async counts(userId: string): Promise<FollowCounts> {
    const u = idKey(userId)
    if (u === null) return { followers: 0, followees: 0 }
    const [row] = await this.#db
      .select({
        followers: sql<number>`(select count(*)::int from ${follows} where ${follows.followeeId} = ${u.toString()}::bigint)`,
        followees: sql<number>`(select count(*)::int from ${follows} where ${follows.followerId} = ${u.toString()}::bigint)`,
      })
      .from(sql`(select 1) as one`)
    return { followers: Number(row?.followers ?? 0), followees: Number(row?.followees ?? 0) }
  }

  async followers(userId: string, afterId: string | null, limit: number): Promise<string[]> {
    const u = idKey(userId)
    if (u === null || limit <= 0) return []
    const after = afterId === null ? null : idKey(afterId)
    const rows = await this.#db
      .select({ id: follows.followerId })
      .from(follows)
      .where(
        after === null
          ? eq(follows.followeeId, u)
          : and(eq(follows.followeeId, u), gt(follows.followerId, after))
      )
      .orderBy(asc(follows.followerId))
      .limit(limit)
    return rows.map((r) => r.id.toString())
  }

  async syncFollowees(followerId: string, apply: UnderFollowerLock<string[]>): Promise<boolean> {
    const f = idKey(followerId)
    if (f === null) return false
    return this.#db.transaction(async (tx) => {
      await tx.execute(followerLock(f.toString()))
      const [user] = await tx.select({ id: users.id }).from(users).where(eq(users.id, f))
      if (!user) return false
      const rows = await tx
        .select({ id: follows.followeeId })
        .from(follows)
        .where(eq(follows.followerId, f))
        .orderBy(asc(follows.followeeId))
      await apply(rows.map((r) => r.id.toString()))
      return true
    })
  }
}
