import { describe, expect, it } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import type { LoginCodes } from '../../src/domain/ports/login-codes.ts'

export type MakeLoginCodes = (clock: ManualClock) => Promise<LoginCodes>

const policy = { maxFailures: 5, lockMs: 15 * 60_000 }
const TTL = 120_000
let n = 0
const phone = () =>
  `+86138${String(Date.now() % 1e5).padStart(5, '0')}${String(n++ % 1000).padStart(3, '0')}`

/** The LoginCodes port's contract; every adapter runs it. */
export function loginCodesContract(name: string, make: MakeLoginCodes) {
  describe(`LoginCodes contract [${name}]`, () => {
    it('accepts the issued code once (one-time), keeping leading zeros', async () => {
      const codes = await make(new ManualClock())
      const p = phone()
      await codes.issue(p, '012345', TTL)
      expect(await codes.verify(p, '12345', policy)).toEqual({
        ok: false,
        reason: 'invalid',
        attemptsLeft: 4,
      })
      expect(await codes.verify(p, '012345', policy)).toEqual({ ok: true })
      expect(await codes.verify(p, '012345', policy)).toMatchObject({
        ok: false,
        reason: 'invalid',
      })
    })

    it('refuses an expired code', async () => {
      const clock = new ManualClock()
      const codes = await make(clock)
      const p = phone()
      await codes.issue(p, '111111', TTL)
      await clock.advance(TTL)
      expect(await codes.verify(p, '111111', policy)).toMatchObject({
        ok: false,
        reason: 'invalid',
      })
    })

    it('a newer code replaces the older one', async () => {
      const codes = await make(new ManualClock())
      const p = phone()
      await codes.issue(p, '111111', TTL)
      await codes.issue(p, '222222', TTL)
      expect((await codes.verify(p, '111111', policy)).ok).toBe(false)
      expect((await codes.verify(p, '222222', policy)).ok).toBe(true)
    })

    it('locks the phone at the 5th wrong code, drops the code, and unlocks after the lock', async () => {
      const clock = new ManualClock()
      const codes = await make(clock)
      const p = phone()
      await codes.issue(p, '424242', TTL)
      const left = []
      for (let i = 0; i < 4; i++) left.push(await codes.verify(p, '000000', policy))
      expect(
        left.map((r) => (r.ok ? 'ok' : r.reason === 'invalid' ? r.attemptsLeft : r.reason))
      ).toEqual([4, 3, 2, 1])
      expect(await codes.verify(p, '000000', policy)).toEqual({
        ok: false,
        reason: 'locked',
        retryAfterMs: policy.lockMs,
      })
      expect(await codes.verify(p, '424242', policy)).toEqual({
        ok: false,
        reason: 'locked',
        retryAfterMs: policy.lockMs,
      })
      await clock.advance(60_000)
      expect(await codes.verify(p, '424242', policy)).toMatchObject({
        retryAfterMs: policy.lockMs - 60_000,
      })
      await clock.advance(policy.lockMs - 60_000)
      expect((await codes.verify(p, '424242', policy)).ok).toBe(false) // the code was dropped
      await codes.issue(p, '515151', TTL)
      expect(await codes.verify(p, '515151', policy)).toEqual({ ok: true })
    })

    it('counts wrong codes only against an issued code (no lockout of a phone without one)', async () => {
      const codes = await make(new ManualClock())
      const p = phone()
      for (let i = 0; i < policy.maxFailures * 2; i++) {
        expect(await codes.verify(p, '000000', policy)).toEqual({
          ok: false,
          reason: 'invalid',
          attemptsLeft: policy.maxFailures,
        })
      }
      await codes.issue(p, '313131', TTL)
      expect(await codes.verify(p, '000000', policy)).toMatchObject({ attemptsLeft: 4 })
      expect(await codes.verify(p, '313131', policy)).toEqual({ ok: true })
      // A used code is no longer issued: guessing after it counts nothing either.
      expect(await codes.verify(p, '000000', policy)).toMatchObject({ attemptsLeft: 5 })
    })

    it('consumes a code exactly once under 20 concurrent attempts', async () => {
      const codes = await make(new ManualClock())
      const p = phone()
      await codes.issue(p, '777777', TTL)
      const results = await Promise.all(
        Array.from({ length: 20 }, () =>
          codes.verify(p, '777777', { maxFailures: 50, lockMs: 60_000 })
        )
      )
      expect(results.filter((r) => r.ok)).toHaveLength(1)
    })
  })
}
