import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { randomToken } from '../../src/adapters/system/random.ts'
import type { SessionStore } from '../../src/domain/ports/session.ts'

export type MakeSessions = (clock: ManualClock) => Promise<SessionStore>

const TTL = 30 * 60_000
const HALF = TTL / 2

/** The SessionStore port's contract; every adapter runs it. */
export function sessionContract(name: string, make: MakeSessions) {
  describe(`SessionStore contract [${name}]`, () => {
    const user = { id: '9007199254740993', nickname: '1e3', icon: 'true' }

    it('stores the user snapshot exactly and reads it back', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      const created = await store.create(token, user, TTL)
      expect(created).toEqual({
        token,
        user,
        createdAt: clock.now(),
        renewedAt: clock.now(),
        expiresAt: clock.now() + TTL,
        renewals: 0,
      })
      expect(await store.get(token)).toEqual(created)
      expect(await store.get(randomToken())).toBeNull()
    })

    it('ends a session at its expiry', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      await store.create(token, user, TTL)
      await clock.advance(TTL - 1)
      expect(await store.get(token)).not.toBeNull()
      await clock.advance(1)
      expect(await store.get(token)).toBeNull()
      expect(await store.renew(token, TTL, HALF, 10)).toBe('missing')
    })

    it('renews only once the minimum time has passed, moving the expiry', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      await store.create(token, user, TTL)
      await clock.advance(HALF - 1)
      expect(await store.renew(token, TTL, HALF, 10)).toBe('not-due')
      await clock.advance(1)
      expect(await store.renew(token, TTL, HALF, 10)).toBe('renewed')
      const s = await store.get(token)
      expect(s).toMatchObject({ renewedAt: clock.now(), expiresAt: clock.now() + TTL, renewals: 1 })
      await clock.advance(TTL - 1) // alive only because it was renewed
      expect(await store.get(token)).not.toBeNull()
    })

    it('stops renewing at the cap and lets the session run out', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      await store.create(token, user, TTL)
      for (let i = 1; i <= 3; i++) {
        await clock.advance(HALF)
        expect(await store.renew(token, TTL, HALF, 3)).toBe('renewed')
      }
      await clock.advance(HALF)
      expect(await store.renew(token, TTL, HALF, 3)).toBe('exhausted')
      expect((await store.get(token))?.renewals).toBe(3)
      await clock.advance(HALF)
      expect(await store.get(token)).toBeNull()
    })

    it('renews once when many requests find it due at the same time', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      await store.create(token, user, TTL)
      await clock.advance(HALF)
      const outcomes = await Promise.all(
        Array.from({ length: 20 }, () => store.renew(token, TTL, HALF, 10))
      )
      expect(outcomes.filter((o) => o === 'renewed')).toHaveLength(1)
      expect(outcomes.filter((o) => o === 'not-due')).toHaveLength(19)
      expect((await store.get(token))?.renewals).toBe(1)
    })

    it('revokes a session at once, idempotently', async () => {
      const clock = new ManualClock()
      const store = await make(clock)
      const token = randomToken()
      await store.create(token, user, TTL)
      await store.revoke(token)
      expect(await store.get(token)).toBeNull()
      await expect(store.revoke(token)).resolves.toBeUndefined()
    })
  })
}
