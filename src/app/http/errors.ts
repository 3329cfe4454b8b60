import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DependencyUnavailable, DomainError } from '../../domain/errors.ts'
import { errorFields, type Logger } from '../log.ts'
import { databaseErrorSummary, databaseProblem, isDatabaseUnavailable } from './db-errors.ts'
import { problem, STATUS_OF } from './problem.ts'

/** `json.<field>` on requests with a body, else `<field>` (where a field-naming error points). */
function fieldPath(c: Context, field: string): string {
  return ['POST', 'PUT', 'PATCH'].includes(c.req.method) ? `json.${field}` : field
}

/**
 * Turns any thrown error into problem+json. Domain errors keep their code; Hono's own 4xx (e.g.
 * malformed JSON) get a stable code; database errors the client caused map through
 * `databaseProblem` (one mapping for every route and driver); a database that cannot be reached is
 * a 503 DEPENDENCY_UNAVAILABLE; anything else is a 500 whose redacted details stay in the log.
 */
export function errorHandler(log: () => Logger | undefined) {
  return (thrown: Error, c: Context): Response => {
    const requestId = c.get('requestId') as string | undefined
    // A lost or refused database connection is a fault to retry (503), not a bug (500).
    const err = isDatabaseUnavailable(thrown)
      ? new DependencyUnavailable('database', thrown)
      : thrown
    if (err instanceof DomainError) {
      const status = STATUS_OF[err.code]
      const retryAfterMs = err.details?.retryAfterMs
      const headers: Record<string, string> =
        typeof retryAfterMs === 'number'
          ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
          : {}
      if (status >= 500) {
        log()?.warn('dependency failure', { requestId, code: err.code, ...errorFields(err) })
      }
      const field = err.code === 'VALIDATION_FAILED' ? err.details?.field : undefined
      const extra =
        typeof field === 'string'
          ? {
              detail: `invalid: ${fieldPath(c, field)}`,
              errors: [{ path: fieldPath(c, field), message: err.message }],
            }
          : {}
      return problem(c, status, err.code, err.message, { ...err.details, ...extra }, headers)
    }
    if (err instanceof HTTPException && err.status < 500) {
      const status = err.status as ContentfulStatusCode
      const code = /json/i.test(err.message) ? 'MALFORMED_JSON' : 'BAD_REQUEST'
      return problem(c, status, code, err.message || 'Bad request')
    }
    const db = databaseProblem(err)
    if (db) {
      log()?.info('database refused client input', {
        requestId,
        code: db.code,
        ...databaseErrorSummary(err),
      })
      const path = db.field ? fieldPath(c, db.field) : undefined
      return problem(
        c,
        db.status,
        db.code,
        db.title,
        path ? { detail: `invalid: ${path}`, errors: [{ path, message: db.title }] } : {}
      )
    }
    log()?.error('unhandled error', { requestId, code: 'INTERNAL', ...errorFields(err) })
    return problem(c, 500, 'INTERNAL', 'Internal server error')
  }
}
