import { DomainError } from '../errors.ts'
import type { Clock } from '../ports/clock.ts'
import type { FollowCounts, FollowIndex, FollowRepository } from '../ports/follows.ts'
import type { Profile, ProfileDirectory } from '../ports/profiles.ts'

export interface FollowDeps {
  clock: Clock
  follows: FollowRepository
  followIndex: FollowIndex
  profiles: ProfileDirectory
  /** Work that must finish after the response (Workers: waitUntil). */
  background(work: Promise<unknown>): void
}

function noUser(id: string): DomainError {
  return new DomainError('USER_NOT_FOUND', 'No such user', { userId: id })
}

/**
 * Follows (`follow` true) or unfollows `targetId`, idempotently. The row changes under the
 * follower's row lock and the Redis set is written inside the same transaction from the state it
 * commits, so concurrent follow/unfollow requests reach Redis in commit order. If Redis fails, the
 * transaction rolls back (503, nothing changed); if the commit fails after Redis was written, the
 * follower's set is re-synchronised from the database in the background (as likes are).
 */
export async function setFollow(
  deps: FollowDeps,
  meId: string,
  targetId: string,
  follow: boolean
): Promise<{ following: boolean; changed: boolean }> {
  if (meId === targetId) {
    throw new DomainError('CANNOT_FOLLOW_SELF', 'You cannot follow yourself', { field: 'id' })
  }
  let written = false
  let outcome: Awaited<ReturnType<FollowRepository['setFollow']>>
  try {
    outcome = await deps.follows.setFollow(
      meId,
      targetId,
      follow,
      deps.clock.now(),
      (following) => {
        written = true
        return deps.followIndex.put(meId, targetId, following)
      }
    )
  } catch (e) {
    if (written) deps.background(rebuildFollows(deps, meId))
    throw e
  }
  if (!outcome) throw noUser(targetId)
  return outcome
}

export async function isFollowing(deps: FollowDeps, meId: string, targetId: string) {
  const [following, [target]] = await Promise.all([
    deps.follows.isFollowing(meId, targetId),
    deps.profiles.profiles([targetId]),
  ])
  if (!target) throw noUser(targetId)
  return following
}

export async function followCounts(deps: FollowDeps, userId: string): Promise<FollowCounts> {
  const [counts, [user]] = await Promise.all([
    deps.follows.counts(userId),
    deps.profiles.profiles([userId]),
  ])
  if (!user) throw noUser(userId)
  return counts
}

/** Reloads a user's Redis set of followees from the database. Returns how many there are. */
export async function rebuildFollows(deps: FollowDeps, userId: string): Promise<number> {
  let count = 0
  const found = await deps.follows.syncFollowees(userId, async (ids) => {
    count = ids.length
    await deps.followIndex.replace(userId, ids)
  })
  if (!found) throw noUser(userId)
  return count
}

const byId = (a: Profile, b: Profile) => {
  const x = BigInt(a.id)
  const y = BigInt(b.id)
  return x < y ? -1 : x > y ? 1 : 0
}

/**
 * Users both the caller and `otherId` follow (intersection of the two Redis sets), by id. A set that is
 * missing from Redis while the database has follows for that user (never built, or lost) is
 * rebuilt from the database first, so the answer never silently comes out empty.
 */
export async function commonFollows(
  deps: FollowDeps,
  meId: string,
  otherId: string
): Promise<Profile[]> {
  const [common, [other]] = await Promise.all([
    deps.followIndex.common(meId, otherId),
    deps.profiles.profiles([otherId]),
  ])
  if (!other) throw noUser(otherId)
  let { ids } = common
  if (common.missing.length > 0) {
    const stale = await Promise.all(
      common.missing.map(async (id) => (await deps.follows.counts(id)).followees > 0)
    )
    const rebuild = common.missing.filter((_, i) => stale[i])
    if (rebuild.length > 0) {
      await Promise.all(rebuild.map((id) => rebuildFollows(deps, id)))
      ids = (await deps.followIndex.common(meId, otherId)).ids
    }
  }
  const profiles = await deps.profiles.profiles(ids)
  return profiles.sort(byId)
}
