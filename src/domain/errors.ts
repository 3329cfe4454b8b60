/**
 * Business outcomes the domain reports by code. The HTTP layer maps each code to a status once
 * (src/app/http/problem.ts); the domain never knows about HTTP.
 */
export type ErrorCode =
  | 'VALIDATION_FAILED'
  | 'NOT_FOUND'
  | 'UNAUTHORIZED'
  | 'FORBIDDEN'
  | 'CONFLICT'
  | 'RATE_LIMITED'
  | 'INVALID_CODE'
  | 'LOGIN_LOCKED'
  | 'SOLD_OUT'
  | 'ALREADY_PURCHASED'
  | 'SALE_NOT_STARTED'
  | 'SALE_ENDED'
  | 'ORDER_PENDING'
  | 'ORDER_NOT_PAYABLE'
  | 'ORDER_NOT_CANCELLABLE'
  | 'DEPENDENCY_UNAVAILABLE'
  | 'LOCK_TIMEOUT'
  | 'BLOG_NOT_FOUND'
  | 'USER_NOT_FOUND'
  | 'CANNOT_FOLLOW_SELF'

export class DomainError extends Error {
  readonly code: ErrorCode
  /** Extra machine-readable facts (e.g. `retryAfterMs`), rendered into the problem body. */
  readonly details: Record<string, unknown> | undefined

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message)
    this.name = 'DomainError'
    this.code = code
    this.details = details
  }
}

/** A dependency (Redis, database, queue) could not be reached; callers answer 503 and change nothing. */
export class DependencyUnavailable extends DomainError {
  readonly dependency: string

  constructor(dependency: string, cause?: unknown) {
    super('DEPENDENCY_UNAVAILABLE', `${dependency} is unavailable`, { dependency })
    this.name = 'DependencyUnavailable'
    this.dependency = dependency
    if (cause !== undefined) this.cause = cause
  }
}

/** A delivery that can never succeed (e.g. a malformed message): dead-letter it without retrying. */
export class PermanentFailure extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentFailure'
  }
}
