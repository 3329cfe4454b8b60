/** A position on Earth in degrees (WGS 84). Latitudes beyond ±85.05112878 cannot be indexed. */
export interface LngLat {
  lng: number
  lat: number
}

export interface GeoPoint extends LngLat {
  member: string
}

export interface GeoHit {
  member: string
  /** Great-circle distance from the search centre, in metres. */
  distanceM: number
}

/**
 * Geospatial sets (Redis GEO in production): members with positions, searched by radius. Keys are
 * logical names (adapters add the key prefix). Every method is one round trip; when the index
 * cannot be reached, methods reject with `DependencyUnavailable('redis')`.
 */
export interface GeoIndex {
  /** Adds the members to the set at `key`, or moves them when already present. */
  add(key: string, points: readonly GeoPoint[]): Promise<void>
  /** Removes the members from the set at `key`; absent members are ignored. */
  remove(key: string, members: readonly string[]): Promise<void>
  /**
   * Members of `key` within `radiusM` metres of `center`, nearest first (equal distances by member,
   * ascending), at most `limit` of them. An absent key has no members. Positions are stored with
   * about 0.6 m of precision, so distances are accurate to about a metre.
   */
  search(key: string, center: LngLat, radiusM: number, limit: number): Promise<GeoHit[]>
}
