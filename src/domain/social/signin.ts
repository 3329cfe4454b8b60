import type { Clock } from '../ports/clock.ts'
import type { SignInCalendar } from '../ports/signins.ts'
import {
  type CivilDate,
  type CivilMonth,
  civilDate,
  daysInMonth,
  isoDate,
  isoMonth,
  monthKey,
  previousMonth,
} from './calendar.ts'

export interface SignInDeps {
  clock: Clock
  signIns: SignInCalendar
  /** The calendar sign-ins count in (IANA zone name, e.g. 'UTC', 'Asia/Shanghai'). */
  timeZone: string
}

/**
 * Streaks are counted back through at most this many months (10 years). Month 1 costs one round
 * trip; each further 12 months one more, and only while every day so far was signed.
 */
export const STREAK_MAX_MONTHS = 121
const STREAK_BATCH_MONTHS = 12

/** Signs the caller in for today (idempotent). */
export async function signIn(deps: SignInDeps, userId: string) {
  const today = civilDate(deps.clock.now(), deps.timeZone)
  const first = await deps.signIns.mark(userId, monthKey(today), today.day)
  return { date: isoDate(today), alreadySigned: !first }
}

/**
 * How many days `mask` (bit d-1 = day d) has signed in a row, counting back from `fromDay`
 * towards day 1. Equal to `fromDay` when the run reaches the start of the month.
 */
export function runBackFrom(mask: number, fromDay: number): number {
  let run = 0
  for (let day = fromDay; day >= 1 && (mask >>> (day - 1)) & 1; day--) run++
  return run
}

/**
 * Consecutive signed days ending today (0 when today is not signed yet), crossing month and year
 * boundaries. Reads the current month first; only a run reaching day 1 reads further back,
 * 12 months per round trip, up to STREAK_MAX_MONTHS (`capped` tells the count stopped there).
 */
export async function signInStreak(deps: SignInDeps, userId: string) {
  const today = civilDate(deps.clock.now(), deps.timeZone)
  let month: CivilMonth = today
  let fromDay = today.day
  let streak = 0
  let read = 0
  while (read < STREAK_MAX_MONTHS) {
    const batch: CivilMonth[] = []
    const size = Math.min(read === 0 ? 1 : STREAK_BATCH_MONTHS, STREAK_MAX_MONTHS - read)
    for (let m = month, i = 0; i < size; i++, m = previousMonth(m)) batch.push(m)
    const masks = await deps.signIns.months(userId, batch.map(monthKey))
    read += batch.length
    for (const [i, mask] of masks.entries()) {
      const run = runBackFrom(mask, fromDay)
      streak += run
      if (run < fromDay)
        return { today: isoDate(today), signedToday: streak > 0, streak, capped: false }
      month = previousMonth(batch[i]!)
      fromDay = daysInMonth(month)
    }
  }
  return { today: isoDate(today), signedToday: true, streak, capped: true }
}

/** The signed days of `month` (default: the current one), ascending. */
export async function signInCalendar(deps: SignInDeps, userId: string, month?: CivilMonth) {
  const today: CivilDate = civilDate(deps.clock.now(), deps.timeZone)
  const m = month ?? today
  const [mask = 0] = await deps.signIns.months(userId, [monthKey(m)])
  const days: number[] = []
  for (let day = 1; day <= daysInMonth(m); day++) if ((mask >>> (day - 1)) & 1) days.push(day)
  return { month: isoMonth(m), days, count: days.length }
}
