import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { readFeed } from '../../domain/social/feed.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { socialDeps } from '../http/social.ts'
import { validationHook } from '../http/validation.ts'
import { BlogSchema, blogJson } from './blogs.ts'

const getFeed = createRoute({
  method: 'get',
  path: '/feed',
  tags: ['feed'],
  summary: 'Blogs of the users I follow, newest first (scroll pagination)',
  description:
    'Push model: new blogs are fanned out to followers’ inboxes through the queue. Pass `nextCursor` back as `cursor` for the next page; it is exact however many blogs share a timestamp, and `null` at the end.',
  security: [{ bearerAuth: [] }],
  middleware: [requireUser] as const,
  request: {
    query: z.object({
      cursor: z.string().max(200).optional().openapi({ description: 'Opaque, from nextCursor' }),
      limit: z.coerce.number().int().min(1).max(50).default(10),
    }),
  },
  responses: {
    200: {
      description: 'A page',
      content: {
        'application/json': {
          schema: z
            .object({ items: z.array(BlogSchema), nextCursor: z.string().nullable() })
            .openapi('FeedPage'),
        },
      },
    },
    400: problemResponse('Malformed cursor or limit'),
    401: problemResponse('No valid session'),
  },
})

export const feedRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
  getFeed,
  async (c) => {
    const { cursor, limit } = c.req.valid('query')
    const page = await readFeed(socialDeps(c.var.deps), c.var.session!.user.id, cursor, limit)
    return c.json({ items: page.items.map(blogJson), nextCursor: page.nextCursor }, 200)
  }
)
