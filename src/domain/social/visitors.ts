import { DomainError } from '../errors.ts'
import type { Clock } from '../ports/clock.ts'
import type { VisitorCounter } from '../ports/visitors.ts'
import { addDays, civilDate, dayKey, dayNumber, isoDate, parseIsoDate } from './calendar.ts'

export interface VisitorDeps {
  clock: Clock
  visitors: VisitorCounter
  /** The calendar days are counted in (IANA zone name). */
  timeZone: string
}

/**
 * Remembers which visitors this instance (isolate) already recorded for a day and skips repeats,
 * which would change nothing in a HyperLogLog: a visitor browsing many pages costs one write per
 * day per isolate instead of one per page. Bounded: it forgets everything once it holds `max`
 * entries (a forgotten visitor is simply recorded again).
 */
export class DedupingVisitorCounter implements VisitorCounter {
  readonly #inner: VisitorCounter
  readonly #max: number
  readonly #seen = new Set<string>()

  constructor(inner: VisitorCounter, max = 10_000) {
    this.#inner = inner
    this.#max = max
  }

  async record(day: string, visitors: readonly string[]): Promise<void> {
    const fresh = [...new Set(visitors)].filter((v) => !this.#seen.has(`${day} ${v}`))
    if (fresh.length === 0) return
    await this.#inner.record(day, fresh)
    if (this.#seen.size + fresh.length > this.#max) this.#seen.clear()
    for (const v of fresh) this.#seen.add(`${day} ${v}`)
  }

  count(days: readonly string[]): Promise<{ perDay: number[]; union: number }> {
    return this.#inner.count(days)
  }
}

/** Longest range GET /stats/uv answers in one call. */
export const UV_MAX_DAYS = 366

/**
 * Who a request counts as: the logged-in user, else the client address, else nobody (null).
 * Prefixed so a user id and an address can never collide.
 */
export function visitorOf(userId: string | null, clientIp: string | null): string | null {
  if (userId) return `u:${userId}`
  if (clientIp) return `ip:${clientIp}`
  return null
}

/** Counts `visitor` for today. */
export async function recordVisit(deps: VisitorDeps, visitor: string): Promise<void> {
  await deps.visitors.record(dayKey(civilDate(deps.clock.now(), deps.timeZone)), [visitor])
}

/**
 * Unique visitors of every day from `from` to `to` (inclusive, 'yyyy-MM-dd'), and of the whole
 * range (the union: a visitor of several days counts once). Defaults: today.
 */
export async function uniqueVisitors(deps: VisitorDeps, fromText?: string, toText?: string) {
  const today = civilDate(deps.clock.now(), deps.timeZone)
  const from = fromText === undefined ? today : parseIsoDate(fromText)
  const to = toText === undefined ? (fromText === undefined ? today : from) : parseIsoDate(toText)
  if (!from) throw new DomainError('VALIDATION_FAILED', 'expected yyyy-MM-dd', { field: 'from' })
  if (!to) throw new DomainError('VALIDATION_FAILED', 'expected yyyy-MM-dd', { field: 'to' })
  const days = dayNumber(to) - dayNumber(from) + 1
  if (days < 1) {
    throw new DomainError('VALIDATION_FAILED', '`to` must not be before `from`', { field: 'to' })
  }
  if (days > UV_MAX_DAYS) {
    throw new DomainError('VALIDATION_FAILED', `at most ${UV_MAX_DAYS} days per query`, {
      field: 'to',
    })
  }
  const dates = Array.from({ length: days }, (_, i) => addDays(from, i))
  const { perDay, union } = await deps.visitors.count(dates.map(dayKey))
  return {
    from: isoDate(from),
    to: isoDate(to),
    days: dates.map((d, i) => ({ date: isoDate(d), visitors: perDay[i] ?? 0 })),
    total: union,
  }
}
