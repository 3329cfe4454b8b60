import type { GeoHit, GeoIndex, GeoPoint, LngLat } from '../../domain/ports/geo.ts'
import { type Redis, redisCall } from './client.ts'

/**
 * GEO sets on Upstash Redis (GEOADD, ZREM, GEOSEARCH … BYRADIUS ASC COUNT WITHDIST). Needs a client
 * with `rawReplies`, so members (ids beyond 2^53) come back as the exact strings stored.
 * Keys: `<prefix><key>`.
 */
export class UpstashGeoIndex implements GeoIndex {
  readonly #redis: Redis
  readonly #prefix: string

  constructor(redis: Redis, prefix = '') {
    this.#redis = redis
    this.#prefix = prefix
  }

  async add(key: string, points: readonly GeoPoint[]): Promise<void> {
    const members = points.map((p) => ({ longitude: p.lng, latitude: p.lat, member: p.member }))
    if (members.length === 0) return
    // @upstash/redis's GeoAddCommand takes its 2nd argument as options-or-first-member and keeps
    // it as a member only `if ("latitude" in arg1 && arg1.latitude)`: a first member at latitude 0
    // was dropped (alone: "ERR wrong number of arguments"). Passing options first sends every
    // member through the unconditional path. CH only changes the (ignored) reply.
    await redisCall(() => this.#redis.geoadd(this.#prefix + key, { ch: true }, ...members))
  }

  async remove(key: string, members: readonly string[]): Promise<void> {
    if (members.length === 0) return
    await redisCall(() => this.#redis.zrem(this.#prefix + key, ...members))
  }

  async search(key: string, center: LngLat, radiusM: number, limit: number): Promise<GeoHit[]> {
    if (limit < 1) return []
    const rows = (await redisCall(() =>
      this.#redis.geosearch(
        this.#prefix + key,
        { type: 'FROMLONLAT', coordinate: { lon: center.lng, lat: center.lat } },
        { type: 'BYRADIUS', radius: radiusM, radiusType: 'M' },
        'ASC',
        { count: { limit }, withDist: true }
      )
    )) as unknown as [string, string][]
    const hits = rows.map(([member, dist]) => ({ member: String(member), distanceM: Number(dist) }))
    // Redis orders by distance only; make equal distances deterministic (by member).
    return hits.sort((a, b) =>
      a.distanceM === b.distanceM ? (a.member < b.member ? -1 : 1) : a.distanceM - b.distanceM
    )
  }
}
