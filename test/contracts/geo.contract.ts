import { describe, expect, it } from 'vitest'
import { haversineM } from '../../src/adapters/memory/geo.ts'
import { randomToken } from '../../src/adapters/system/random.ts'
import type { GeoIndex, LngLat } from '../../src/domain/ports/geo.ts'

export type MakeGeo = () => Promise<{ geo: GeoIndex; dispose(): Promise<void> }>

const CENTER: LngLat = { lng: 120.149993, lat: 30.334229 }

/** A point `metres` east of CENTER (along the parallel). */
function east(metres: number): LngLat {
  const perDegree = (Math.PI / 180) * 6_372_797.560856 * Math.cos((CENTER.lat * Math.PI) / 180)
  return { lng: CENTER.lng + metres / perDegree, lat: CENTER.lat }
}

/** The GeoIndex port's contract; every adapter runs it. */
export function geoContract(name: string, make: MakeGeo) {
  describe(`GeoIndex contract [${name}]`, () => {
    const key = () => `geo:${randomToken(6)}`

    it('stores coordinates of 0 (equator, prime meridian), alone and in a batch', async () => {
      const { geo, dispose } = await make()
      const k = key()
      const origin = { lng: 0, lat: 0 }
      await geo.add(k, [{ member: 'origin', ...origin }])
      await geo.add(k, [
        { member: 'equator', lng: 0.001, lat: 0 },
        { member: 'meridian', lng: 0, lat: 0.001 },
      ])
      const hits = await geo.search(k, origin, 1_000, 10)
      expect(hits.map((h) => h.member).sort()).toEqual(['equator', 'meridian', 'origin'])
      expect(hits.find((h) => h.member === 'origin')!.distanceM).toBeLessThan(1)
      await dispose()
    })

    it('an absent set has no members', async () => {
      const { geo, dispose } = await make()
      expect(await geo.search(key(), CENTER, 5_000, 10)).toEqual([])
      await dispose()
    })

    it('finds members within the radius, nearest first, with distances in metres', async () => {
      const { geo, dispose } = await make()
      const k = key()
      const at = { a: east(1_200), b: east(300), c: east(4_900), far: east(5_200) }
      await geo.add(
        k,
        Object.entries(at).map(([member, p]) => ({ member, ...p }))
      )
      const hits = await geo.search(k, CENTER, 5_000, 10)
      expect(hits.map((h) => h.member)).toEqual(['b', 'a', 'c'])
      for (const hit of hits) {
        const truth = haversineM(CENTER, at[hit.member as keyof typeof at])
        expect(Math.abs(hit.distanceM - truth)).toBeLessThan(1) // geohash precision
      }
      expect((await geo.search(k, CENTER, 5_000, 2)).map((h) => h.member)).toEqual(['b', 'a'])
      expect(await geo.search(k, CENTER, 5_000, 0)).toEqual([])
      await dispose()
    })

    it('orders equal distances by member and keeps ids beyond 2^53 exact', async () => {
      const { geo, dispose } = await make()
      const k = key()
      const p = east(700)
      const big = '12345678901234567890'
      await geo.add(k, [
        { member: 'm2', ...p },
        { member: big, ...east(100) },
        { member: 'm1', ...p },
      ])
      const hits = await geo.search(k, CENTER, 1_000, 10)
      expect(hits.map((h) => h.member)).toEqual([big, 'm1', 'm2'])
      await dispose()
    })

    it('adding a present member moves it; removing takes it out', async () => {
      const { geo, dispose } = await make()
      const k = key()
      await geo.add(k, [
        { member: 'x', ...east(100) },
        { member: 'y', ...east(200) },
      ])
      await geo.add(k, [{ member: 'x', ...east(3_000) }])
      expect((await geo.search(k, CENTER, 5_000, 10)).map((h) => h.member)).toEqual(['y', 'x'])
      await geo.remove(k, ['y', 'absent'])
      await geo.remove(k, [])
      await geo.add(k, [])
      const hits = await geo.search(k, CENTER, 5_000, 10)
      expect(hits.map((h) => h.member)).toEqual(['x'])
      expect(Math.abs(hits[0]!.distanceM - 3_000)).toBeLessThan(1)
      await dispose()
    })
  })
}
