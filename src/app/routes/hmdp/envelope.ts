import { type Hook, z } from '@hono/zod-openapi'
import type { Context, MiddlewareHandler } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { ContentfulStatusCode } from 'hono/utils/http-status'
import { DomainError, type ErrorCode } from '../../../domain/errors.ts'
import type { AppEnv } from '../../http/env.ts'
import { errorFields, type Logger } from '../../log.ts'

/** The OpenAPI tag of every route of the hmdp-compatible surface. */
export const TAG = 'hmdp compatible'

/**
 * The original's `Result`: every answer of this surface has this body. Business refusals are
 * HTTP 200 with `success: false` and a human-readable `errorMsg` (the pages show it); `code` is
 * ours, a stable machine-readable code the pages ignore.
 */
export const envelope = <T extends z.ZodType>(data: T, name: string) =>
  z
    .object({
      success: z.boolean(),
      errorMsg: z.string().nullable().openapi({ example: null }),
      // anyOf [data, null] (not `nullable`): refusals carry `data: null` whatever the route's data.
      data: z.union([data, z.null()]),
      total: z.number().int().nullable(),
      code: z.string().optional().openapi({ description: 'Stable error code (refusals only)' }),
      errors: z
        .array(z.object({ path: z.string(), message: z.string() }))
        .optional()
        .openapi({ description: 'VALIDATION_FAILED: each malformed field, e.g. query.current' }),
    })
    .openapi(name)

export const FailureSchema = envelope(z.null(), 'HmdpFailure')

/** The app-wide problem+json body (registered as the `Problem` component by problemResponse). */
const ProblemRef = { $ref: '#/components/schemas/Problem' } as const

export interface Result<T> {
  success: boolean
  errorMsg: string | null
  data: T | null
  total: number | null
  code?: string
}

export const result = <T>(data: T, total: number | null = null): Result<T> => ({
  success: true,
  errorMsg: null,
  data,
  total,
})

export const failure = (errorMsg: string, code: string): Result<null> => ({
  success: false,
  errorMsg,
  data: null,
  total: null,
  code,
})

/**
 * A success body. Typed loosely for the router (each route's schema documents its `data`); the
 * shapes are built by the typed mappers in ./shapes.ts.
 */
export function ok<T>(c: Context, data: T, total: number | null = null): never {
  return c.json(result(data, total), 200) as never
}

/** A refusal (or an error status) in the envelope. */
export function refuse(
  c: Context,
  status: ContentfulStatusCode,
  errorMsg: string,
  code: string,
  headers: Record<string, string> = {}
): never {
  return c.json(failure(errorMsg, code), status, headers) as never
}

/** OpenAPI responses shared by the routes: refusals are 200; these are the other statuses. */
export const responses = {
  badRequest: {
    description:
      'Malformed parameters (`code` VALIDATION_FAILED / MALFORMED_JSON) in the envelope. Input no route may see at all (NUL characters, refused app-wide before routing) is answered as problem+json.',
    content: {
      'application/json': { schema: FailureSchema },
      'application/problem+json': { schema: ProblemRef },
    },
  },
  unauthorized: {
    description: 'Not logged in (the pages redirect to /login.html)',
    content: { 'application/json': { schema: FailureSchema } },
  },
  unavailable: {
    description: 'A dependency is unreachable (`code` DEPENDENCY_UNAVAILABLE / LOCK_TIMEOUT)',
    content: { 'application/json': { schema: FailureSchema } },
  },
}

/** The envelope's 200 entry for a route whose `data` is `schema`. */
export const okResponse = <T extends z.ZodType>(schema: T, name: string, description: string) => ({
  description: `${description}. Refusals: 200 with \`success: false\`, \`errorMsg\` and \`code\`.`,
  content: { 'application/json': { schema: envelope(schema, name) } },
})

/** What the pages show for each domain refusal (Chinese, like the original's messages). */
const MESSAGES: Record<ErrorCode, string> = {
  VALIDATION_FAILED: '参数错误',
  NOT_FOUND: '资源不存在',
  UNAUTHORIZED: '请先登录',
  FORBIDDEN: '无权操作',
  CONFLICT: '操作冲突，请重试',
  RATE_LIMITED: '操作太频繁，请稍后再试',
  INVALID_CODE: '验证码错误',
  LOGIN_LOCKED: '验证码错误次数过多，请稍后再试',
  SOLD_OUT: '库存不足',
  ALREADY_PURCHASED: '不允许重复下单',
  SALE_NOT_STARTED: '秒杀尚未开始！',
  SALE_ENDED: '秒杀已经结束！',
  ORDER_PENDING: '订单处理中，请稍后再试',
  ORDER_NOT_PAYABLE: '订单无法支付',
  ORDER_NOT_CANCELLABLE: '订单无法取消',
  DEPENDENCY_UNAVAILABLE: '服务繁忙，请稍后再试',
  LOCK_TIMEOUT: '服务繁忙，请稍后再试',
  BLOG_NOT_FOUND: '笔记不存在！',
  USER_NOT_FOUND: '用户不存在！',
  CANNOT_FOLLOW_SELF: '不能关注自己',
}

/** Statuses other than the refusals' 200: logged out, and faults (the pages say "服务器异常"). */
const STATUS: Partial<Record<ErrorCode, ContentfulStatusCode>> = {
  UNAUTHORIZED: 401,
  DEPENDENCY_UNAVAILABLE: 503,
  LOCK_TIMEOUT: 503,
}

/** The message of a domain error on this surface; `overrides` per route (e.g. a voucher's 404). */
export function messageOf(
  e: Pick<DomainError, 'code'>,
  overrides: Partial<Record<ErrorCode, string>> = {}
) {
  return overrides[e.code] ?? MESSAGES[e.code]
}

/** Turns thrown errors into the envelope: refusals 200, logged out 401, faults 503, bugs 500. */
export function hmdpErrorHandler(err: Error, c: Context<AppEnv>): Response {
  const log: Logger | undefined = c.var.deps?.log
  if (err instanceof DomainError) {
    const status = STATUS[err.code] ?? 200
    const retryAfterMs = err.details?.retryAfterMs
    const headers: Record<string, string> =
      typeof retryAfterMs === 'number'
        ? { 'retry-after': String(Math.max(1, Math.ceil(retryAfterMs / 1000))) }
        : {}
    if (status >= 500) log?.warn('dependency failure', { code: err.code, ...errorFields(err) })
    return refuse(c, status, messageOf(err), err.code, headers)
  }
  if (err instanceof HTTPException && err.status < 500) {
    const code =
      err.status === 415
        ? 'UNSUPPORTED_MEDIA_TYPE'
        : /json/i.test(err.message)
          ? 'MALFORMED_JSON'
          : 'BAD_REQUEST'
    return refuse(c, err.status as ContentfulStatusCode, '请求格式错误', code)
  }
  log?.error('unhandled error', { requestId: c.get('requestId'), ...errorFields(err) })
  return refuse(c, 500, '服务器异常', 'INTERNAL')
}

/** Malformed parameters: 400 in the envelope, naming the fields. */
// biome-ignore lint/suspicious/noExplicitAny: shared by routes of every input type
export const hmdpValidationHook: Hook<any, AppEnv, any, any> = (res, c) => {
  if (res.success) return
  const errors = res.error.issues.map((issue) => ({
    path: [res.target, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }))
  const body = {
    ...failure(`参数错误: ${errors.map((e) => e.path).join(', ')}`, 'VALIDATION_FAILED'),
    errors,
  }
  return c.json(body, 400)
}

/**
 * The original's LoginInterceptor: 401 without a live session (the pages then go to the login
 * page). If the session store is unreachable the answer is 503, not a misleading 401.
 */
export const loginRequired: MiddlewareHandler<AppEnv> = async (c, next) => {
  if (!c.var.session) {
    if (c.var.sessionUnavailable) throw c.var.sessionUnavailable
    return refuse(c, 401, '请先登录', 'UNAUTHORIZED')
  }
  await next()
}

/** The logged-in user's id (routes behind `loginRequired`). */
export const me = (c: Context<AppEnv>) => c.var.session!.user.id

/** The viewer's id, or null when anonymous (public routes). */
export const viewer = (c: Context<AppEnv>) => c.var.session?.user.id ?? null

/** `current` (1-based page number) as the pages send it; absent (the pages drop 0) = 1. */
export const Current = z.coerce.number().int().min(1).max(10_000).default(1).openapi({
  example: 1,
  description: 'Page number, 1-based',
})

/** Decimal id strings (64-bit ids do not survive JSON numbers). */
export const Id = z.string().regex(/^[1-9]\d{0,18}$/, 'expected a decimal id')

export const IdParam = z.object({ id: Id.openapi({ param: { name: 'id', in: 'path' } }) })
