import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { login, logout, requestCode } from '../../../domain/auth/auth.ts'
import { normalizePhone } from '../../../domain/auth/phone.ts'
import { DomainError } from '../../../domain/errors.ts'
import { followCounts } from '../../../domain/social/follows.ts'
import { signIn, signInStreak } from '../../../domain/social/signin.ts'
import { authDeps, sessionToken } from '../../http/auth.ts'
import type { AppEnv } from '../../http/env.ts'
import { socialDeps } from '../../http/social.ts'
import {
  hmdpValidationHook,
  IdParam,
  loginRequired,
  me,
  ok,
  okResponse,
  refuse,
  responses,
  TAG,
} from './envelope.ts'
import { UserInfoSchema, UserSchema, userJson } from './shapes.ts'

const BAD_PHONE = '手机号格式错误！'
const BAD_CODE = '验证码错误'

const authed = {
  tags: [TAG],
  middleware: [loginRequired],
  security: [{ bearerAuth: [] }],
}

const routes = {
  code: createRoute({
    method: 'post',
    path: '/user/code',
    tags: [TAG],
    summary: 'Send a login code (phone in the query)',
    description:
      'Refusals: "手机号格式错误！", "操作太频繁，请稍后再试" (`code` RATE_LIMITED, Retry-After). Outside production `data` is the code.',
    request: {
      query: z.object({
        phone: z.string().max(64).default('').openapi({ example: '13812345678' }),
      }),
    },
    responses: {
      200: okResponse(z.string().nullable(), 'HmdpCodeSent', 'Sent'),
      400: responses.badRequest,
      503: responses.unavailable,
    },
  }),
  login: createRoute({
    method: 'post',
    path: '/user/login',
    tags: [TAG],
    summary: 'Log in with phone + code; `data` is the token',
    description:
      'Refusals: "手机号格式错误！", "验证码错误" (`code` INVALID_CODE; wrong codes count), "验证码错误次数过多，请稍后再试" (LOGIN_LOCKED). The code works once.',
    request: {
      body: {
        required: true,
        content: {
          'application/json': {
            schema: z.object({
              phone: z.string().max(64).default(''),
              code: z.string().max(64).default(''),
              password: z
                .string()
                .max(128)
                .optional()
                .openapi({ description: 'Ignored (as in the original)' }),
            }),
          },
        },
      },
    },
    responses: {
      200: okResponse(z.string(), 'HmdpToken', 'The session token (send it as `authorization`)'),
      400: responses.badRequest,
      503: responses.unavailable,
    },
  }),
  logout: createRoute({
    ...authed,
    method: 'post',
    path: '/user/logout',
    summary: 'End the session (the original answered "功能未完成")',
    responses: {
      200: okResponse(z.null(), 'HmdpLoggedOut', 'Logged out'),
      401: responses.unauthorized,
    },
  }),
  me: createRoute({
    ...authed,
    method: 'get',
    path: '/user/me',
    summary: 'The logged-in user',
    responses: { 200: okResponse(UserSchema, 'HmdpMe', 'The user'), 401: responses.unauthorized },
  }),
  info: createRoute({
    ...authed,
    method: 'get',
    path: '/user/info/{id}',
    summary: "A user's details (`data` null when there is no such user)",
    description:
      'introduce, city, gender and birthday are not part of our model yet: null. fans and followee are the real counts.',
    request: { params: IdParam },
    responses: {
      200: okResponse(UserInfoSchema, 'HmdpUserInfoResult', 'The details'),
      400: responses.badRequest,
      401: responses.unauthorized,
    },
  }),
  signCount: createRoute({
    ...authed,
    method: 'get',
    path: '/user/sign/count',
    summary: 'Consecutive signed days ending today',
    responses: {
      200: okResponse(z.number().int(), 'HmdpSignCount', 'Days'),
      401: responses.unauthorized,
    },
  }),
  sign: createRoute({
    ...authed,
    method: 'post',
    path: '/user/sign',
    summary: 'Sign in for today (idempotent)',
    responses: { 200: okResponse(z.null(), 'HmdpSigned', 'Signed'), 401: responses.unauthorized },
  }),
  user: createRoute({
    ...authed,
    method: 'get',
    path: '/user/{id}',
    summary: 'A public profile (`data` null when there is no such user)',
    request: { params: IdParam },
    responses: {
      200: okResponse(UserSchema, 'HmdpUserResult', 'The user'),
      400: responses.badRequest,
      401: responses.unauthorized,
    },
  }),
}

export const hmdpUsers = new OpenAPIHono<AppEnv>({ defaultHook: hmdpValidationHook })
  .openapi(routes.code, async (c) => {
    const phone = c.req.valid('query').phone
    if (!normalizePhone(phone)) return refuse(c, 200, BAD_PHONE, 'VALIDATION_FAILED')
    const deps = authDeps(c.var.deps)
    const sent = await requestCode(deps, phone)
    return ok(c, deps.config.env === 'production' ? null : sent.code)
  })
  .openapi(routes.login, async (c) => {
    const { phone, code } = c.req.valid('json')
    if (!normalizePhone(phone)) return refuse(c, 200, BAD_PHONE, 'VALIDATION_FAILED')
    if (!/^\d{6}$/.test(code)) return refuse(c, 200, BAD_CODE, 'INVALID_CODE')
    const { session } = await login(authDeps(c.var.deps), phone, code)
    return ok(c, session.token)
  })
  .openapi(routes.logout, async (c) => {
    await logout(c.var.deps, sessionToken(c.req.header('authorization'))!)
    return ok(c, null)
  })
  .openapi(routes.me, async (c) => ok(c, userJson(c.var.session!.user)))
  .openapi(routes.info, async (c) => {
    const userId = c.req.valid('param').id
    try {
      const counts = await followCounts(socialDeps(c.var.deps), userId)
      return ok(c, {
        userId,
        city: null,
        introduce: null,
        fans: counts.followers,
        followee: counts.followees,
        gender: null,
        birthday: null,
        credits: 0,
        level: 0,
      } satisfies z.infer<typeof UserInfoSchema>)
    } catch (e) {
      if (e instanceof DomainError && e.code === 'USER_NOT_FOUND') return ok(c, null)
      throw e
    }
  })
  .openapi(routes.signCount, async (c) => {
    const { streak } = await signInStreak(socialDeps(c.var.deps), me(c))
    return ok(c, streak)
  })
  .openapi(routes.sign, async (c) => {
    await signIn(socialDeps(c.var.deps), me(c))
    return ok(c, null)
  })
  .openapi(routes.user, async (c) => {
    const user = await c.var.deps.users.findById(c.req.valid('param').id)
    return ok(c, user ? userJson(user) : null)
  })
