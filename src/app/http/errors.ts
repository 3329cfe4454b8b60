import type { Context } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DomainError } from '../../domain/errors.ts'
import { errorFields, type Logger } from '../log.ts'
import { problem, STATUS_OF } from './problem.ts'

/**
 * Turns any thrown error into problem+json. Domain errors keep their code; Hono's own 4xx (e.g.
 * malformed JSON) get a stable code; anything else is a 500 whose details stay in the log.
 */
export function errorHandler(log: () => Logger | undefined) {
  return (err: Error, c: Context): Response => {
    if (err instanceof DomainError) {
      const status = STATUS_OF[err.code]
      const retryAfterMs = err.details?.retryAfterMs
      const headers: Record<string, string> =
        typeof retryAfterMs === 'number'
          ? { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) }
          : {}
      if (status >= 500) log()?.warn('dependency failure', { code: err.code, ...errorFields(err) })
      return problem(c, status, err.code, err.message, { ...err.details }, headers)
    }
    if (err instanceof HTTPException && err.status < 500) {
      const status = err.status as ContentfulStatusCode
      const code = /json/i.test(err.message) ? 'MALFORMED_JSON' : 'BAD_REQUEST'
      return problem(c, status, code, err.message || 'Bad request')
    }
    log()?.error('unhandled error', { requestId: c.get('requestId'), ...errorFields(err) })
    return problem(c, 500, 'INTERNAL', 'Internal server error')
  }
}
