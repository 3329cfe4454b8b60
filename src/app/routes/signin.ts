import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { parseIsoMonth } from '../../domain/social/calendar.ts'
import { signIn, signInCalendar, signInStreak } from '../../domain/social/signin.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { socialDeps } from '../http/social.ts'
import { validationHook } from '../http/validation.ts'

const common = {
  tags: ['sign-in'],
  security: [{ bearerAuth: [] }],
}

const sign = createRoute({
  ...common,
  middleware: [requireUser] as const,
  method: 'post',
  path: '/users/me/sign',
  summary: 'Sign in for today (idempotent)',
  description: 'Days are calendar days in APP_TIMEZONE (default UTC).',
  responses: {
    200: {
      description: 'Signed',
      content: {
        'application/json': {
          schema: z.object({
            date: z.string().openapi({ example: '2026-01-31' }),
            alreadySigned: z.boolean(),
          }),
        },
      },
    },
    401: problemResponse('No valid session'),
  },
})

const streak = createRoute({
  ...common,
  middleware: [requireUser] as const,
  method: 'get',
  path: '/users/me/sign/streak',
  summary: 'Consecutive signed days up to today',
  description:
    'Counts back from today (0 when today is not signed yet) across month and year boundaries, up to 121 months.',
  responses: {
    200: {
      description: 'The streak',
      content: {
        'application/json': {
          schema: z.object({
            today: z.string().openapi({ example: '2026-02-01' }),
            signedToday: z.boolean(),
            streak: z.number().int(),
            capped: z.boolean().openapi({ description: 'true: the count stopped at 121 months' }),
          }),
        },
      },
    },
    401: problemResponse('No valid session'),
  },
})

const calendar = createRoute({
  ...common,
  middleware: [requireUser] as const,
  method: 'get',
  path: '/users/me/sign',
  summary: 'The signed days of a month',
  request: {
    query: z.object({
      month: z
        .string()
        .refine((m) => parseIsoMonth(m) !== null, 'expected yyyy-MM')
        .optional()
        .openapi({ example: '2026-01', description: 'Default: the current month' }),
    }),
  },
  responses: {
    200: {
      description: 'The month',
      content: {
        'application/json': {
          schema: z.object({
            month: z.string().openapi({ example: '2026-01' }),
            days: z.array(z.number().int()).openapi({ example: [1, 2, 5] }),
            count: z.number().int(),
          }),
        },
      },
    },
    400: problemResponse('Malformed month'),
    401: problemResponse('No valid session'),
  },
})

export const signInRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(sign, async (c) => {
    return c.json(await signIn(socialDeps(c.var.deps), c.var.session!.user.id), 200)
  })
  .openapi(streak, async (c) => {
    return c.json(await signInStreak(socialDeps(c.var.deps), c.var.session!.user.id), 200)
  })
  .openapi(calendar, async (c) => {
    const { month } = c.req.valid('query')
    const m = month === undefined ? undefined : (parseIsoMonth(month) ?? undefined)
    return c.json(await signInCalendar(socialDeps(c.var.deps), c.var.session!.user.id, m), 200)
  })
