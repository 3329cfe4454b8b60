import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { User, UserRepository } from '../../src/domain/ports/users.ts'

export interface UserRepositoryHarness {
  repo: UserRepository
  dispose(): Promise<void>
}

/** A phone no other test (or earlier run against the same database) has used. */
function freshPhone(): string {
  const digits = crypto.getRandomValues(new Uint32Array(3)).join('').slice(0, 10).padEnd(10, '7')
  return `1${digits}`
}

const CANONICAL_ID = /^[1-9][0-9]*$/

/**
 * The UserRepository contract. `make` runs once for the suite (tests share the repository and use
 * fresh phones, so a non-empty store is fine); `createdAt` is checked against the wall clock, so
 * back memory adapters with a real clock here.
 */
export function userRepositoryContract(
  name: string,
  make: () => Promise<UserRepositoryHarness>
): void {
  describe(`UserRepository contract [${name}]`, () => {
    let repo: UserRepository
    let harness: UserRepositoryHarness | undefined
    beforeAll(async () => {
      harness = await make()
      repo = harness.repo
    })
    afterAll(async () => {
      await harness?.dispose()
    })

    it('findByPhone and findById miss with null', async () => {
      expect(await repo.findByPhone(freshPhone())).toBeNull()
      expect(await repo.findById('9223372036854775807')).toBeNull()
    })

    it('treats ids that are not canonical decimals as absent, without throwing', async () => {
      const { user } = await repo.findOrCreateByPhone(freshPhone(), 'shape')
      for (const id of ['', 'abc', '-1', '0', '1.5', ` ${user.id}`, `0${user.id}`, '1e3']) {
        expect(await repo.findById(id), JSON.stringify(id)).toBeNull()
      }
      expect(await repo.findById('99999999999999999999')).toBeNull() // beyond int8
    })

    it('creates a user, then finds it by id and by phone', async () => {
      const phone = freshPhone()
      const before = Date.now()
      const { user, created } = await repo.findOrCreateByPhone(phone, 'alice')
      const after = Date.now()
      expect(created).toBe(true)
      expect(user).toMatchObject({ phone, nickname: 'alice', icon: '' })
      expect(user.id).toMatch(CANONICAL_ID)
      // Database clocks may round differently from Date.now(); a second of slack is plenty.
      expect(user.createdAt).toBeGreaterThanOrEqual(before - 1000)
      expect(user.createdAt).toBeLessThanOrEqual(after + 1000)
      expect(await repo.findById(user.id)).toEqual(user)
      expect(await repo.findByPhone(phone)).toEqual(user)
    })

    it('returns the existing user unchanged on a second call (created=false)', async () => {
      const phone = freshPhone()
      const first = await repo.findOrCreateByPhone(phone, 'first')
      const second = await repo.findOrCreateByPhone(phone, 'second')
      expect(second).toEqual({ user: first.user, created: false })
      expect((await repo.findByPhone(phone))?.nickname).toBe('first')
    })

    it('hands out snapshots: mutating a returned user changes nothing stored', async () => {
      const { user } = await repo.findOrCreateByPhone(freshPhone(), 'snap')
      const copy = { ...user }
      user.nickname = 'mutated'
      const found = (await repo.findById(copy.id)) as User
      found.icon = 'mutated'
      expect(await repo.findById(copy.id)).toEqual(copy)
    })

    it('50 concurrent findOrCreateByPhone for one phone create exactly one user', async () => {
      const phone = freshPhone()
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => repo.findOrCreateByPhone(phone, `racer-${i}`))
      )
      const winners = results.filter((r) => r.created)
      expect(winners).toHaveLength(1)
      const winner = winners[0]!.user
      expect(new Set(results.map((r) => r.user.id))).toEqual(new Set([winner.id]))
      for (const r of results) expect(r.user).toEqual(winner)
      expect(await repo.findByPhone(phone)).toEqual(winner)
    })

    it('gives distinct phones distinct ids, each findable', async () => {
      const phones = Array.from({ length: 10 }, freshPhone)
      const results = await Promise.all(phones.map((p) => repo.findOrCreateByPhone(p, 'many')))
      expect(results.every((r) => r.created)).toBe(true)
      expect(new Set(results.map((r) => r.user.id)).size).toBe(phones.length)
      for (const [i, { user }] of results.entries()) {
        expect(user.phone).toBe(phones[i])
        expect(await repo.findById(user.id)).toEqual(user)
      }
    })
  })
}
