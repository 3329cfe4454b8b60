import { findPgError } from './http/db-errors.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent'

export type LogFields = Record<string, unknown>

export interface Logger {
  debug(msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
  /**
   * Whether `level` is written (absent: assume it is); lets a caller skip building its fields. The
   * answer is fixed for the logger's life (the app mounts its access log or not once).
   */
  enabled?(level: Exclude<LogLevel, 'silent'>): boolean
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 }

/**
 * Structured logs: one JSON object per line on the console (Workers Logs, `wrangler tail` and Node
 * all collect console output). Callers pass ids and outcomes, never tokens, codes or bodies.
 */
export function createLogger(level: LogLevel = 'info', sink: (line: string) => void = console.log) {
  const write = (lvl: Exclude<LogLevel, 'silent'>, msg: string, fields?: LogFields) => {
    if (RANK[lvl] < RANK[level]) return
    sink(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields }))
  }
  const logger: Logger = {
    debug: (msg, fields) => write('debug', msg, fields),
    info: (msg, fields) => write('info', msg, fields),
    warn: (msg, fields) => write('warn', msg, fields),
    error: (msg, fields) => write('error', msg, fields),
    enabled: (lvl) => RANK[lvl] >= RANK[level],
  }
  return logger
}

/** Error facts safe to log: name, message, stack, and the same for its cause. */
export function errorFields(error: unknown): LogFields {
  if (!(error instanceof Error)) return { error: String(error) }
  const cause = error.cause instanceof Error ? { cause: redacted(error.cause, false) } : {}
  return { error: redacted(error, true), ...cause }
}

/**
 * Database errors quote what was sent: drizzle's "Failed query: <sql> params: <values>" and the
 * driver's messages and details ('invalid input syntax for type bigint: "…"', 'Key (phone)=(…)').
 * Those are logged as their SQLSTATE and schema names only, with the stack's message lines cut.
 */
function redacted(error: Error, withStack: boolean): LogFields {
  const pg = findPgError(error)
  const isQuery = 'params' in error && 'query' in error
  if (!pg && !isQuery) {
    return withStack
      ? { name: error.name, message: error.message, stack: error.stack }
      : { name: error.name, message: error.message }
  }
  const message = isQuery ? 'database query failed' : `database error ${pg!.code}`
  const frames = error.stack?.split('\n').filter((line) => /^\s+at /.test(line))
  return {
    name: error.name,
    message,
    ...(pg ? { sqlState: pg.code, ...(pg.constraint ? { constraint: pg.constraint } : {}) } : {}),
    ...(withStack && frames ? { stack: [`${error.name}: ${message}`, ...frames].join('\n') } : {}),
  }
}
