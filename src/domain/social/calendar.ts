/** A day of the app's calendar (proleptic Gregorian), independent of any time zone. */
export interface CivilDate {
  year: number
  /** 1..12 */
  month: number
  /** 1..31 */
  day: number
}

export interface CivilMonth {
  year: number
  month: number
}

const DAY_MS = 86_400_000
const formatters = new Map<string, Intl.DateTimeFormat>()

/** Whether `timeZone` is an IANA zone name (or 'UTC') the runtime knows. */
export function isTimeZone(timeZone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone })
    return true
  } catch {
    return false
  }
}

/** The calendar day that the instant `ms` (Unix ms) falls on in `timeZone`. */
export function civilDate(ms: number, timeZone: string): CivilDate {
  if (timeZone === 'UTC') return fromDayNumber(Math.floor(ms / DAY_MS))
  let format = formatters.get(timeZone)
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
    })
    formatters.set(timeZone, format)
  }
  const parts = format.formatToParts(ms)
  const part = (type: string) => Number(parts.find((p) => p.type === type)?.value)
  return { year: part('year'), month: part('month'), day: part('day') }
}

/** Days since 1970-01-01 of a calendar day. */
export function dayNumber(d: CivilDate): number {
  return Math.round(Date.UTC(d.year, d.month - 1, d.day) / DAY_MS)
}

/** The calendar day `n` days after 1970-01-01. */
export function fromDayNumber(n: number): CivilDate {
  const at = new Date(n * DAY_MS)
  return { year: at.getUTCFullYear(), month: at.getUTCMonth() + 1, day: at.getUTCDate() }
}

export function addDays(d: CivilDate, n: number): CivilDate {
  return fromDayNumber(dayNumber(d) + n)
}

export function daysInMonth(m: CivilMonth): number {
  return new Date(Date.UTC(m.year, m.month, 0)).getUTCDate()
}

export function previousMonth(m: CivilMonth): CivilMonth {
  return m.month === 1 ? { year: m.year - 1, month: 12 } : { year: m.year, month: m.month - 1 }
}

const pad = (n: number, width = 2) => String(n).padStart(width, '0')

/** 'yyyyMM': the month part of Redis keys. */
export function monthKey(m: CivilMonth): string {
  return `${pad(m.year, 4)}${pad(m.month)}`
}

/** 'yyyyMMdd': the day part of Redis keys. */
export function dayKey(d: CivilDate): string {
  return `${monthKey(d)}${pad(d.day)}`
}

/** 'yyyy-MM-dd' (ISO 8601 calendar date), as the API shows days. */
export function isoDate(d: CivilDate): string {
  return `${pad(d.year, 4)}-${pad(d.month)}-${pad(d.day)}`
}

/** 'yyyy-MM', as the API shows months. */
export function isoMonth(m: CivilMonth): string {
  return `${pad(m.year, 4)}-${pad(m.month)}`
}

/** Parses 'yyyy-MM-dd' (a real calendar day, years 1970..9999), else null. */
export function parseIsoDate(text: string): CivilDate | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text)
  if (!m) return null
  const d = { year: Number(m[1]), month: Number(m[2]), day: Number(m[3]) }
  if (d.year < 1970 || d.month < 1 || d.month > 12 || d.day < 1) return null
  return d.day <= daysInMonth(d) ? d : null
}

/** Parses 'yyyy-MM' (years 1970..9999), else null. */
export function parseIsoMonth(text: string): CivilMonth | null {
  const m = /^(\d{4})-(\d{2})$/.exec(text)
  if (!m) return null
  const month = { year: Number(m[1]), month: Number(m[2]) }
  return month.year >= 1970 && month.month >= 1 && month.month <= 12 ? month : null
}
