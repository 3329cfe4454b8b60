import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { rebuildLikers } from '../../domain/social/blogs.ts'
import { sweepFanout } from '../../domain/social/feed.ts'
import { rebuildFollows } from '../../domain/social/follows.ts'
import { UV_MAX_DAYS, uniqueVisitors } from '../../domain/social/visitors.ts'
import { requireAdmin } from '../http/admin.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { socialDeps } from '../http/social.ts'
import { validationHook } from '../http/validation.ts'
import { IdString } from './users.ts'

const admin = {
  security: [{ adminBearer: [] }],
}
const adminResponses = {
  401: problemResponse('ADMIN_UNAUTHORIZED'),
  403: problemResponse('ADMIN_DISABLED (ADMIN_TOKEN unset)'),
}
const Day = z.string().regex(/^\d{4}-\d{2}-\d{2}$/, 'expected yyyy-MM-dd')

const uv = createRoute({
  ...admin,
  middleware: [requireAdmin] as const,
  method: 'get',
  path: '/stats/uv',
  tags: ['stats', 'admin'],
  summary: 'Unique visitors per day, and over the whole range (admin)',
  description: `HyperLogLog estimates (standard error 0.81 %) of distinct users/client addresses with GET page views; \`total\` counts a visitor of several days once. Days are in APP_TIMEZONE; at most ${UV_MAX_DAYS} days; default today.`,
  request: {
    query: z.object({
      from: Day.optional().openapi({ example: '2026-01-01' }),
      to: Day.optional().openapi({ example: '2026-01-07' }),
    }),
  },
  responses: {
    200: {
      description: 'Counts',
      content: {
        'application/json': {
          schema: z
            .object({
              from: z.string(),
              to: z.string(),
              days: z.array(z.object({ date: z.string(), visitors: z.number().int() })),
              total: z.number().int(),
            })
            .openapi('UniqueVisitors'),
        },
      },
    },
    400: problemResponse('Malformed or too long range'),
    ...adminResponses,
  },
})

const Rebuilt = z.object({ rebuilt: z.number().int() })

const rebuildFollowSet = createRoute({
  ...admin,
  middleware: [requireAdmin] as const,
  method: 'post',
  path: '/admin/social/follows/{userId}/rebuild',
  tags: ['follows', 'admin'],
  summary: 'Reload a user’s Redis set of followees from Postgres (admin)',
  request: {
    params: z.object({ userId: IdString.openapi({ param: { name: 'userId', in: 'path' } }) }),
  },
  responses: {
    200: {
      description: 'Followees now in the set',
      content: { 'application/json': { schema: Rebuilt } },
    },
    404: problemResponse('USER_NOT_FOUND'),
    ...adminResponses,
  },
})

const rebuildLikerSet = createRoute({
  ...admin,
  middleware: [requireAdmin] as const,
  method: 'post',
  path: '/admin/social/blogs/{id}/likes/rebuild',
  tags: ['blogs', 'admin'],
  summary: 'Reload a blog’s likers ZSET from Postgres (admin)',
  request: {
    params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }),
  },
  responses: {
    200: {
      description: 'Likers now in the ZSET',
      content: { 'application/json': { schema: Rebuilt } },
    },
    404: problemResponse('BLOG_NOT_FOUND'),
    ...adminResponses,
  },
})

const sweep = createRoute({
  ...admin,
  middleware: [requireAdmin] as const,
  method: 'post',
  path: '/admin/social/feed/sweep',
  tags: ['feed', 'admin'],
  summary: 'Queue the fan-out of blogs whose hand-off to the queue failed (admin)',
  description:
    'The same as the periodic job `feed.fanout.sweep`; blogs younger than a minute are left alone.',
  responses: {
    200: {
      description: 'Blogs queued',
      content: { 'application/json': { schema: z.object({ queued: z.number().int() }) } },
    },
    ...adminResponses,
  },
})

export const statsRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(uv, async (c) => {
    const { from, to } = c.req.valid('query')
    return c.json(await uniqueVisitors(socialDeps(c.var.deps), from, to), 200)
  })
  .openapi(rebuildFollowSet, async (c) => {
    const rebuilt = await rebuildFollows(socialDeps(c.var.deps), c.req.valid('param').userId)
    return c.json({ rebuilt }, 200)
  })
  .openapi(rebuildLikerSet, async (c) => {
    const rebuilt = await rebuildLikers(socialDeps(c.var.deps), c.req.valid('param').id)
    return c.json({ rebuilt }, 200)
  })
  .openapi(sweep, async (c) => {
    return c.json({ queued: await sweepFanout(socialDeps(c.var.deps)) }, 200)
  })
