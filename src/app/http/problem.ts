import { z } from '@hono/zod-openapi'
import type { Context } from 'hono'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import type { ErrorCode } from '../../domain/errors.ts'

/** HTTP status of every domain error code: the one place the mapping lives. */
export const STATUS_OF: Record<ErrorCode, ContentfulStatusCode> = {
  VALIDATION_FAILED: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  RATE_LIMITED: 429,
  INVALID_CODE: 401,
  LOGIN_LOCKED: 429,
  SOLD_OUT: 409,
  ALREADY_PURCHASED: 409,
  SALE_NOT_STARTED: 409,
  SALE_ENDED: 409,
  ORDER_PENDING: 409,
  ORDER_NOT_PAYABLE: 409,
  ORDER_NOT_CANCELLABLE: 409,
  DEPENDENCY_UNAVAILABLE: 503,
  LOCK_TIMEOUT: 503,
  BLOG_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  CANNOT_FOLLOW_SELF: 400,
}

export const FieldErrorSchema = z.object({
  path: z.string().openapi({ example: 'json.phone' }),
  message: z.string(),
})

/** RFC 9457 problem details, plus a stable machine-readable `code` and the request id. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: 'urn:problem:VALIDATION_FAILED' }),
    title: z.string().openapi({ example: 'Request validation failed' }),
    status: z.number().int().openapi({ example: 400 }),
    code: z.string().openapi({ example: 'VALIDATION_FAILED' }),
    detail: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(FieldErrorSchema).optional(),
  })
  .catchall(z.unknown())
  .openapi('Problem')

export type Problem = z.infer<typeof ProblemSchema>

/** An OpenAPI response entry for a problem status. */
export function problemResponse(description: string) {
  return { description, content: { 'application/problem+json': { schema: ProblemSchema } } }
}

/** Renders a problem+json response (the single error envelope of the API). */
export function problem(
  c: Context,
  status: ContentfulStatusCode,
  code: string,
  title: string,
  extra: Omit<Partial<Problem>, 'status' | 'code' | 'title' | 'type'> = {},
  headers: Record<string, string> = {}
): Response {
  const requestId = c.get('requestId') as string | undefined
  const body: Problem = { type: `urn:problem:${code}`, title, status, code, ...extra, requestId }
  return c.body(JSON.stringify(body), status, {
    ...headers,
    'content-type': 'application/problem+json',
  })
}
