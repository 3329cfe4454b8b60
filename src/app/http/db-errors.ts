/**
 * The one mapping from database/driver errors to problems, for every driver (PGlite and Postgres
 * through the Neon driver raise the same SQLSTATE fields). Validation rejects what the database
 * cannot store before it gets there; this is the backstop so that nothing a client sends can turn
 * into a 500. Messages and details of these errors quote the offending values, so callers log only
 * the summary this module returns (`sqlState`, `constraint`, `table`, `column`).
 */

/** The fields of a Postgres error this module reads (pg, Neon and PGlite name them alike). */
interface PgErrorLike {
  code: string
  detail?: string
  table?: string
  column?: string
  constraint?: string
}

/** What a client-caused database error becomes. */
export interface DatabaseProblem {
  status: 400 | 404 | 409
  code: 'VALIDATION_FAILED' | 'CONFLICT'
  title: string
  /** The request field it concerns (camelCase), when the error names one. */
  field: string | undefined
}

const SQLSTATE = /^[0-9A-Z]{5}$/

/** The Postgres error in `e` or its `cause` chain (drizzle wraps driver errors), else null. */
export function findPgError(e: unknown): PgErrorLike | null {
  for (let err = e, depth = 0; err && depth < 5; depth++) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string' && SQLSTATE.test(code) && 'severity' in (err as object)) {
      return err as PgErrorLike
    }
    err = (err as { cause?: unknown }).cause
  }
  return null
}

const camel = (column: string) => column.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase())

/** `Key (shop_id)=(…)` in a constraint error's detail names the column. */
function columnOf(err: PgErrorLike): string | undefined {
  if (err.column) return camel(err.column)
  const m = err.detail?.match(/^Key \(([a-z_][a-z0-9_]*)(?:, [a-z0-9_, ]+)?\)=/)
  return m ? camel(m[1]!) : undefined
}

/**
 * Maps a client-caused database error to a problem: unique → 409 CONFLICT; foreign key → 400
 * naming the field that references nothing; out-of-range, invalid text, invalid dates, too long,
 * NUL bytes, not-null and check violations → 400 VALIDATION_FAILED. Anything else (connection,
 * syntax, server faults) is not the client's doing: null.
 */
export function databaseProblem(e: unknown): DatabaseProblem | null {
  const err = findPgError(e)
  if (!err) return null
  const field = columnOf(err)
  switch (err.code) {
    case '23505':
      return { status: 409, code: 'CONFLICT', title: 'Already exists', field }
    case '23503':
      return {
        status: 400,
        code: 'VALIDATION_FAILED',
        title: 'Refers to something that does not exist',
        field,
      }
    case '23502':
    case '23514':
      return { status: 400, code: 'VALIDATION_FAILED', title: 'Value not allowed', field }
  }
  // Class 22 — data exception: out of range (22003), invalid text (22P02), datetime (22007/22008),
  // string too long (22001), NUL / bad encoding (22021), …
  if (err.code.startsWith('22')) {
    return {
      status: 400,
      code: 'VALIDATION_FAILED',
      title: 'A value cannot be stored',
      field,
    }
  }
  return null
}

/** A loggable summary of a database error: SQLSTATE and schema names, never values or SQL. */
export function databaseErrorSummary(e: unknown): Record<string, string> | null {
  const err = findPgError(e)
  if (!err) return null
  const out: Record<string, string> = { sqlState: err.code }
  if (err.table) out.table = err.table
  if (err.column) out.column = err.column
  if (err.constraint) out.constraint = err.constraint
  return out
}

/** Node socket errors that mean "could not reach / lost the server", not a bad query. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
])
const CONNECTION_MESSAGE =
  /connection terminated|connection (?:timeout|refused|error)|timeout exceeded when trying to connect|websocket|socket hang up|server closed the connection/i

/**
 * True when `e` (or its cause chain) says the database could not be reached or the connection was
 * lost: SQLSTATE class 08 (connection exception), 57P01–57P03 (shutdown, cannot connect now),
 * 53300 (too many connections), a socket error code, a WebSocket error event (the Neon driver's
 * socket failing: it rejects with the event itself), or the drivers' connection messages. The
 * error handler answers these 503 DEPENDENCY_UNAVAILABLE (retry), never 500.
 */
export function isDatabaseUnavailable(e: unknown): boolean {
  for (let err = e, depth = 0; err && depth < 6; depth++) {
    const code = (err as { code?: unknown }).code
    if (typeof code === 'string') {
      if (NETWORK_CODES.has(code)) return true
      if (SQLSTATE.test(code) && (code.startsWith('08') || /^57P0[123]$/.test(code))) return true
      if (code === '53300') return true
    }
    const message = (err as { message?: unknown }).message
    if (typeof message === 'string' && CONNECTION_MESSAGE.test(message)) return true
    if (
      (err as { type?: unknown }).type === 'error' &&
      /Event$/.test(err.constructor?.name ?? '')
    ) {
      return true
    }
    err = (err as { cause?: unknown }).cause
  }
  return false
}
