import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { login, logout, requestCode } from '../../domain/auth/auth.ts'
import { normalizePhone } from '../../domain/auth/phone.ts'
import { authDeps, requireUser } from '../http/auth.ts'
import { clearSessionCookie, setSessionCookie } from '../http/cookie-session.ts'
import type { AppEnv } from '../http/env.ts'
import { codeSendBudget, withLoginBudget } from '../http/login-abuse.ts'
import { problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'
import { MeSchema, me } from './users.ts'

const Phone = z
  .string()
  .max(32)
  .refine((v) => normalizePhone(v) !== null, {
    message: 'expected a mainland China mobile number (e.g. 13812345678) or an E.164 number',
  })
  .openapi({ example: '13812345678' })

const json = <T extends z.ZodType>(schema: T) => ({
  required: true,
  content: { 'application/json': { schema } },
})

const sendCode = createRoute({
  method: 'post',
  path: '/auth/code',
  tags: ['auth'],
  summary: 'Send a one-time login code',
  description:
    'Sends a 6-digit code (valid 2 min) through the configured SMS sender (Aliyun SMS or a signed webhook) and stores it once the provider accepted it. Throttled per phone by sliding windows (default 1/min, 5/5 min, 10/20 min), per client (default 5/10 min, 20/day) and service-wide (default 100/min, 2000/h, 10000/day). If the provider refuses or is unreachable: 503 `DEPENDENCY_UNAVAILABLE` (`dependency: "sms"`), no code stored (an earlier one stays valid) and the phone throttle not charged. Outside production the response carries `devCode`.',
  request: { body: json(z.object({ phone: Phone })) },
  responses: {
    202: {
      description: 'Code sent',
      content: {
        'application/json': {
          schema: z.object({
            phone: z.string().openapi({ example: '+8613812345678' }),
            expiresInSeconds: z.number().int(),
            devCode: z.string().optional().openapi({ description: 'Only outside production' }),
          }),
        },
      },
    },
    400: problemResponse('Invalid phone'),
    429: problemResponse(
      'RATE_LIMITED: too many codes for this phone, from this client or on the whole service (`scope`, `tier`, Retry-After)'
    ),
    503: problemResponse('DEPENDENCY_UNAVAILABLE: the SMS provider (or Redis) failed; retry'),
  },
})

const LoginResult = z
  .object({
    token: z.string().openapi({ description: 'Bearer token (128-bit, URL-safe)' }),
    expiresAt: z.string().openapi({ format: 'date-time' }),
    created: z.boolean().openapi({ description: 'true on the first login of this phone' }),
    user: MeSchema,
  })
  .openapi('LoginResult')

const doLogin = createRoute({
  method: 'post',
  path: '/auth/login',
  tags: ['auth'],
  summary: 'Log in with phone + code',
  description:
    'Checks and consumes the code atomically (one-time). Wrong codes count while a code is issued; the 5th locks the phone for 15 min. Failed logins also count per client and service-wide (AUTH_LOGIN_CLIENT_FAILURES, AUTH_LOGIN_GLOBAL_FAILURES). The first login creates the user.',
  request: {
    body: json(
      z.object({
        phone: Phone,
        code: z
          .string()
          .regex(/^\d{6}$/, 'expected 6 digits')
          .openapi({ example: '042917' }),
      })
    ),
  },
  responses: {
    200: { description: 'Logged in', content: { 'application/json': { schema: LoginResult } } },
    400: problemResponse('Invalid input'),
    401: problemResponse('INVALID_CODE (with attemptsLeft)'),
    429: problemResponse(
      'LOGIN_LOCKED: this phone is locked (Retry-After); RATE_LIMITED: too many failed logins from this client or on the service (`scope`, Retry-After)'
    ),
  },
})

const doLogout = createRoute({
  method: 'post',
  path: '/auth/logout',
  tags: ['auth'],
  summary: 'End the session',
  description:
    'Deletes the session at once. In cookie mode (SESSION_COOKIE=on) it also clears the session cookie; a cookie-authenticated call must come from an allowed Origin (CSRF).',
  // Typed as a plain list: a union of literal objects here would widen the app's client type.
  security: [{ bearerAuth: [] }, { sessionCookie: [] }] as { [scheme: string]: string[] }[],
  middleware: [requireUser] as const,
  responses: {
    204: { description: 'Session ended' },
    401: problemResponse('No valid session'),
    403: problemResponse('CSRF_REJECTED: cookie-authenticated request from a disallowed origin'),
  },
})

export const auth = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(sendCode, async (c) => {
    const deps = authDeps(c.var.deps)
    const sent = await requestCode(deps, c.req.valid('json').phone, codeSendBudget(c))
    const dev = deps.config.env !== 'production' ? { devCode: sent.code } : {}
    return c.json({ phone: sent.phone, expiresInSeconds: sent.expiresInMs / 1000, ...dev }, 202)
  })
  .openapi(doLogin, async (c) => {
    const { phone, code } = c.req.valid('json')
    const { session, user, created } = await withLoginBudget(c, () =>
      login(authDeps(c.var.deps), phone, code)
    )
    setSessionCookie(c, session)
    return c.json(
      {
        token: session.token,
        expiresAt: new Date(session.expiresAt).toISOString(),
        created,
        user: me(user),
      },
      200
    )
  })
  .openapi(doLogout, async (c) => {
    await logout(c.var.deps, c.var.session!.token)
    clearSessionCookie(c)
    return c.body(null, 204)
  })
