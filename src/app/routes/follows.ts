import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import { commonFollows, followCounts, isFollowing, setFollow } from '../../domain/social/follows.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { problemResponse } from '../http/problem.ts'
import { socialDeps } from '../http/social.ts'
import { validationHook } from '../http/validation.ts'
import { IdString, PublicUserSchema } from './users.ts'

const params = z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) })

const FollowState = z
  .object({
    following: z.boolean(),
    changed: z.boolean().openapi({ description: 'false when it already was in that state' }),
  })
  .openapi('FollowState')

const protectedCommon = {
  tags: ['follows'],
  security: [{ bearerAuth: [] }],
  request: { params },
}

const followRoute = (method: 'put' | 'delete') =>
  createRoute({
    ...protectedCommon,
    middleware: [requireUser] as const,
    method,
    path: '/users/{id}/follow',
    summary: method === 'put' ? 'Follow a user (idempotent)' : 'Unfollow a user (idempotent)',
    description:
      'One follow per pair (unique index); the Redis set of followees changes in the same transaction.',
    responses: {
      200: {
        description: 'The new state',
        content: { 'application/json': { schema: FollowState } },
      },
      400: problemResponse('Malformed id, or CANNOT_FOLLOW_SELF'),
      401: problemResponse('No valid session'),
      404: problemResponse('USER_NOT_FOUND'),
    },
  })

const amIFollowing = createRoute({
  ...protectedCommon,
  middleware: [requireUser] as const,
  method: 'get',
  path: '/users/{id}/follow',
  summary: 'Whether I follow this user',
  responses: {
    200: {
      description: 'The state',
      content: { 'application/json': { schema: z.object({ following: z.boolean() }) } },
    },
    400: problemResponse('Malformed id'),
    401: problemResponse('No valid session'),
    404: problemResponse('USER_NOT_FOUND'),
  },
})

const common = createRoute({
  ...protectedCommon,
  middleware: [requireUser] as const,
  method: 'get',
  path: '/users/{id}/common-follows',
  summary: 'Users both I and this user follow',
  description:
    'Intersection of the two Redis followee sets (rebuilt from Postgres when missing), ordered by id.',
  responses: {
    200: {
      description: 'Common followees',
      content: {
        'application/json': { schema: z.object({ items: z.array(PublicUserSchema) }) },
      },
    },
    400: problemResponse('Malformed id'),
    401: problemResponse('No valid session'),
    404: problemResponse('USER_NOT_FOUND'),
  },
})

const counts = createRoute({
  method: 'get',
  path: '/users/{id}/follow-counts',
  tags: ['follows'],
  summary: 'Follower and followee counts',
  request: { params },
  responses: {
    200: {
      description: 'Counts',
      content: {
        'application/json': {
          schema: z
            .object({ followers: z.number().int(), followees: z.number().int() })
            .openapi('FollowCounts'),
        },
      },
    },
    400: problemResponse('Malformed id'),
    404: problemResponse('USER_NOT_FOUND'),
  },
})

export const followRoutes = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(followRoute('put'), async (c) => {
    const deps = socialDeps(c.var.deps)
    return c.json(await setFollow(deps, c.var.session!.user.id, c.req.valid('param').id, true), 200)
  })
  .openapi(followRoute('delete'), async (c) => {
    const deps = socialDeps(c.var.deps)
    return c.json(
      await setFollow(deps, c.var.session!.user.id, c.req.valid('param').id, false),
      200
    )
  })
  .openapi(amIFollowing, async (c) => {
    const deps = socialDeps(c.var.deps)
    const following = await isFollowing(deps, c.var.session!.user.id, c.req.valid('param').id)
    return c.json({ following }, 200)
  })
  .openapi(common, async (c) => {
    const deps = socialDeps(c.var.deps)
    const items = await commonFollows(deps, c.var.session!.user.id, c.req.valid('param').id)
    return c.json({ items }, 200)
  })
  .openapi(counts, async (c) => {
    return c.json(await followCounts(socialDeps(c.var.deps), c.req.valid('param').id), 200)
  })
