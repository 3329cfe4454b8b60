import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DomainError } from '../../src/domain/errors.ts'
import type { ShopInput, ShopRepository, ShopType } from '../../src/domain/ports/shops.ts'

export interface ShopRepositoryHarness {
  /** A repository over a database holding the demo data set (10 types, 20 shops each). */
  repo: ShopRepository
  dispose(): Promise<void>
}

const input = (typeId: string, over: Partial<ShopInput> = {}): ShopInput => ({
  name: '测试小馆',
  typeId,
  images: ['/imgs/a.jpg', '/imgs/b.jpg'],
  area: '大关',
  address: '上塘路1号',
  lng: 120.15,
  lat: 30.33,
  avgPrice: 66,
  score: 4.7,
  openHours: '10:00-22:00',
  ...over,
})

/** The ShopRepository contract; `make` runs once for the suite. */
export function shopRepositoryContract(
  name: string,
  make: () => Promise<ShopRepositoryHarness>
): void {
  describe(`ShopRepository contract [${name}]`, () => {
    let repo: ShopRepository
    let harness: ShopRepositoryHarness | undefined
    let types: ShopType[]
    beforeAll(async () => {
      harness = await make()
      repo = harness.repo
      types = await repo.listTypes()
    })
    afterAll(async () => {
      await harness?.dispose()
    })

    it('lists the types in display order', () => {
      expect(types).toHaveLength(10)
      const sorts = types.map((t) => t.sort)
      expect(sorts).toEqual([...sorts].sort((a, b) => a - b))
      expect(types[0]).toMatchObject({ name: '美食', icon: '/types/ms.png', sort: 1 })
      for (const t of types) expect(t.id).toMatch(/^[1-9]\d*$/)
    })

    it('misses with null for absent or non-canonical ids, without throwing', async () => {
      for (const id of ['9223372036854775807', '99999999999999999999', 'abc', '0', '01', '-1']) {
        expect(await repo.findById(id), id).toBeNull()
      }
      expect(await repo.listByType('abc', 0, 10)).toEqual([])
      expect(await repo.listByType('9223372036854775807', 0, 10)).toEqual([])
    })

    it('pages one type by id: disjoint windows that cover it exactly', async () => {
      const typeId = types[0]!.id
      const pages = await Promise.all([0, 7, 14, 21].map((o) => repo.listByType(typeId, o, 7)))
      const ids = pages.flat().map((s) => s.id)
      expect(pages.map((p) => p.length)).toEqual([7, 7, 6, 0])
      expect(new Set(ids).size).toBe(20)
      expect(ids).toEqual([...ids].sort((a, b) => Number(a) - Number(b)))
      for (const shop of pages.flat()) expect(shop.typeId).toBe(typeId)
      const first = pages[0]![0]!
      expect(await repo.findById(first.id)).toEqual(first)
    })

    it('searches names case-insensitively, with % and _ taken literally', async () => {
      const ktv = await repo.searchByName('ktv', 0, 100)
      expect(ktv.length).toBeGreaterThan(0)
      for (const s of ktv) expect(s.name.toLowerCase()).toContain('ktv')
      expect(await repo.searchByName('%', 0, 10)).toEqual([])
      expect(await repo.searchByName('_', 0, 10)).toEqual([])
      const tea = await repo.searchByName('茶餐厅', 0, 10)
      expect(tea.map((s) => s.name)).toContain('103茶餐厅')
      const paged = await repo.searchByName('ktv', 1, 2)
      expect(paged).toEqual(ktv.slice(1, 3))
    })

    it('scans every shop once, by ascending id (keyset)', async () => {
      const seen: string[] = []
      let after: string | null = null
      for (;;) {
        const batch = await repo.scan(after, 37)
        if (batch.length === 0) break
        seen.push(...batch.map((s) => s.id))
        after = batch.at(-1)!.id
      }
      expect(seen.length).toBeGreaterThanOrEqual(200)
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen).toEqual([...seen].sort((a, b) => Number(a) - Number(b)))
    })

    it('reserves distinct ids and creates a shop under one', async () => {
      const ids = await Promise.all(Array.from({ length: 20 }, () => repo.reserveId()))
      expect(new Set(ids).size).toBe(20)
      for (const id of ids) expect(await repo.findById(id)).toBeNull()
      const typeId = types[1]!.id
      const created = await repo.create(ids[0]!, input(typeId))
      expect(created).toMatchObject({ id: ids[0], ...input(typeId), sold: 0, comments: 0 })
      expect(created.updatedAt).toBeGreaterThan(0)
      expect(await repo.findById(ids[0]!)).toEqual(created)
    })

    it('refuses an unknown type with VALIDATION_FAILED naming typeId', async () => {
      const id = await repo.reserveId()
      for (const typeId of ['9223372036854775000', 'nope']) {
        const error = await repo.create(id, input(typeId)).catch((e: unknown) => e)
        expect(error).toBeInstanceOf(DomainError)
        expect(error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'typeId' } })
      }
      expect(await repo.findById(id)).toBeNull()
    })

    it('updates atomically, returning the row before and after; absent → null', async () => {
      const id = await repo.reserveId()
      const original = await repo.create(id, input(types[2]!.id))
      const next = input(types[3]!.id, { name: '改名了', lng: 120.2, lat: 30.3, score: 3.9 })
      const changed = await repo.update(id, next)
      expect(changed?.before).toEqual(original)
      expect(changed?.after).toMatchObject({ id, ...next, sold: 0, comments: 0 })
      expect(changed!.after.updatedAt).toBeGreaterThanOrEqual(original.updatedAt)
      expect(await repo.findById(id)).toEqual(changed?.after)
      expect(await repo.update('9223372036854775807', next)).toBeNull()
      expect(await repo.update('x', next)).toBeNull()
      const bad = await repo.update(id, input('9223372036854775000')).catch((e: unknown) => e)
      expect(bad).toMatchObject({ code: 'VALIDATION_FAILED' })
      expect(await repo.findById(id)).toEqual(changed?.after)
    })
  })
}
