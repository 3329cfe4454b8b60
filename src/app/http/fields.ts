import { z } from '@hono/zod-openapi'

/**
 * Field schemas bounded by what the database can store, so a value it would refuse is a 400
 * naming the field before any query runs (src/app/http/db-errors.ts is only the backstop).
 */

/** Largest Postgres `integer` (int4). */
export const INT4_MAX = 2_147_483_647
/** Largest Postgres `bigint` (int8), as the decimal ids are compared. */
export const INT8_MAX = 9_223_372_036_854_775_807n

/** Whether a string of decimal digits fits an int8 (other strings are left to the pattern check). */
export const fitsInt8 = (digits: string) => !/^\d{1,19}$/.test(digits) || BigInt(digits) <= INT8_MAX

/** A whole number a Postgres `integer` column holds, from `min` (default 0). */
export const Int4 = (min = 0) => z.number().int().min(min).max(INT4_MAX)

/** Years the API accepts in timestamps (JS and Postgres agree on them; no 2-digit-year traps). */
export const MIN_YEAR = 1970
export const MAX_YEAR = 9999

/** An RFC 3339 date-time with offset, between 1970-01-01 and 9999-12-31 (UTC). */
export const DateTimeInput = z.iso
  .datetime({ offset: true })
  .refine(
    (v) => {
      const year = new Date(v).getUTCFullYear()
      return year >= MIN_YEAR && year <= MAX_YEAR
    },
    { message: `expected a date-time between ${MIN_YEAR} and ${MAX_YEAR}` }
  )
  .openapi({ format: 'date-time', example: '2030-01-01T10:00:00+08:00' })
