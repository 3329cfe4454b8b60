import type { GeoHit, GeoIndex, GeoPoint, LngLat } from '../../domain/ports/geo.ts'

/** The Earth radius Redis uses for GEO distances (geohash_helper.c), in metres. */
const EARTH_RADIUS_M = 6_372_797.560856

/** Haversine great-circle distance in metres, as Redis computes it. */
export function haversineM(a: LngLat, b: LngLat): number {
  const rad = Math.PI / 180
  const u = Math.sin(((b.lat - a.lat) * rad) / 2)
  const v = Math.sin(((b.lng - a.lng) * rad) / 2)
  const h = u * u + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * v * v
  return 2 * EARTH_RADIUS_M * Math.asin(Math.sqrt(h))
}

/** GEO sets in Maps: same semantics as UpstashGeoIndex (exact positions), one process only. */
export class MemoryGeoIndex implements GeoIndex {
  readonly #sets = new Map<string, Map<string, LngLat>>()

  async add(key: string, points: readonly GeoPoint[]): Promise<void> {
    const set = this.#sets.get(key) ?? new Map<string, LngLat>()
    this.#sets.set(key, set)
    for (const p of points) set.set(p.member, { lng: p.lng, lat: p.lat })
  }

  async remove(key: string, members: readonly string[]): Promise<void> {
    const set = this.#sets.get(key)
    for (const m of members) set?.delete(m)
  }

  async search(key: string, center: LngLat, radiusM: number, limit: number): Promise<GeoHit[]> {
    const hits: GeoHit[] = []
    for (const [member, at] of this.#sets.get(key) ?? []) {
      const distanceM = haversineM(center, at)
      if (distanceM <= radiusM) hits.push({ member, distanceM })
    }
    return hits.sort(byDistanceThenMember).slice(0, Math.max(0, limit))
  }
}

export function byDistanceThenMember(a: GeoHit, b: GeoHit): number {
  return a.distanceM - b.distanceM || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0)
}
