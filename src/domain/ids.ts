/** 2022-01-01T00:00:00Z in seconds: the epoch of order-style ids (as in the original hmdp). */
export const ID_EPOCH_SECONDS = 1_640_995_200

/**
 * Composes an order-style id: seconds since ID_EPOCH_SECONDS in the high bits, a per-day sequence
 * (1..2^32-1) in the low 32 bits. Decimal string, because the value exceeds 2^53.
 */
export function composeId(nowMs: number, sequence: number): string {
  if (!Number.isInteger(sequence) || sequence < 1 || sequence >= 2 ** 32) {
    throw new RangeError(`id sequence out of range: ${sequence}`)
  }
  const seconds = BigInt(Math.floor(nowMs / 1000) - ID_EPOCH_SECONDS)
  return ((seconds << 32n) | BigInt(sequence)).toString()
}

const DAY_MS = 86_400_000
/** The last day `utcDay` formatted (one per request on the purchase path): its first ms and text. */
let lastDay = { start: Number.NaN, text: '' }

/** The UTC calendar day of `nowMs` as yyyymmdd: the bucket of the per-day id sequence. */
export function utcDay(nowMs: number): string {
  // Date truncates a fractional time toward zero: so does the bucket's bound.
  const start = Math.floor(Math.trunc(nowMs) / DAY_MS) * DAY_MS
  if (start !== lastDay.start) {
    lastDay = { start, text: new Date(nowMs).toISOString().slice(0, 10).replaceAll('-', '') }
  }
  return lastDay.text
}

/** The canonical decimal form of a positive 64-bit id (1 to 19 digits, no leading zero). */
const DECIMAL_ID = /^[1-9][0-9]{0,18}$/

/** Whether `value` is an id in canonical decimal form (what every id looks like on the wire). */
export function isDecimalId(value: unknown): value is string {
  return typeof value === 'string' && DECIMAL_ID.test(value)
}
