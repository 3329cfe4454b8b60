import { describe, expect, it } from 'vitest'
import type { SignInCalendar } from '../../src/domain/ports/signins.ts'

/** The SignInCalendar port's contract; `make` returns an empty calendar (a fresh namespace). */
export function signInCalendarContract(name: string, make: () => Promise<SignInCalendar>) {
  describe(`SignInCalendar contract [${name}]`, () => {
    it('marks a day once: true the first time, false after', async () => {
      const cal = await make()
      expect(await cal.mark('1', '202601', 15)).toBe(true)
      expect(await cal.mark('1', '202601', 15)).toBe(false)
      expect(await cal.mark('2', '202601', 15)).toBe(true)
    })

    it('reads months as masks with day d at bit d-1, absent months 0', async () => {
      const cal = await make()
      for (const d of [1, 2, 30, 31]) await cal.mark('9007199254740993', '202601', d)
      await cal.mark('9007199254740993', '202512', 31)
      const masks = await cal.months('9007199254740993', ['202601', '202512', '202511'])
      expect(masks).toEqual([2 ** 0 + 2 ** 1 + 2 ** 29 + 2 ** 30, 2 ** 30, 0])
      expect(await cal.months('someone-else', ['202601'])).toEqual([0])
      expect(await cal.months('1', [])).toEqual([])
    })

    it('a full month reads as 31 set bits', async () => {
      const cal = await make()
      for (let d = 1; d <= 31; d++) await cal.mark('5', '202603', d)
      expect(await cal.months('5', ['202603'])).toEqual([2 ** 31 - 1])
    })
  })
}
