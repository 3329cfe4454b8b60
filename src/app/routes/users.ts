import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi'
import type { User } from '../../domain/ports/users.ts'
import { requireUser } from '../http/auth.ts'
import type { AppEnv } from '../http/env.ts'
import { fitsInt8 } from '../http/fields.ts'
import { problem, problemResponse } from '../http/problem.ts'
import { validationHook } from '../http/validation.ts'

/** Decimal id strings (64-bit ids do not survive JSON numbers). */
export const IdString = z
  .string()
  .regex(/^[1-9]\d{0,18}$/, 'expected a decimal id')
  .refine(fitsInt8, 'expected a decimal id of at most 9223372036854775807')

export const PublicUserSchema = z
  .object({
    id: IdString.openapi({ example: '42' }),
    nickname: z.string().openapi({ example: 'user_k3Jd9sQx' }),
    icon: z.string(),
  })
  .openapi('PublicUser')

export const MeSchema = PublicUserSchema.extend({
  phone: z.string().openapi({ example: '+8613812345678' }),
  createdAt: z.string().openapi({ format: 'date-time' }),
}).openapi('Me')

export const publicUser = (u: Pick<User, 'id' | 'nickname' | 'icon'>) => ({
  id: u.id,
  nickname: u.nickname,
  icon: u.icon,
})

export const me = (u: User) => ({
  ...publicUser(u),
  phone: u.phone,
  createdAt: new Date(u.createdAt).toISOString(),
})

const getMe = createRoute({
  method: 'get',
  path: '/users/me',
  tags: ['users'],
  summary: 'The logged-in user',
  security: [{ bearerAuth: [] }],
  middleware: [requireUser] as const,
  responses: {
    200: { description: 'The user', content: { 'application/json': { schema: MeSchema } } },
    401: problemResponse('No valid session'),
    404: problemResponse('The account no longer exists'),
  },
})

const getUser = createRoute({
  method: 'get',
  path: '/users/{id}',
  tags: ['users'],
  summary: 'A public profile',
  request: { params: z.object({ id: IdString.openapi({ param: { name: 'id', in: 'path' } }) }) },
  responses: {
    200: { description: 'Profile', content: { 'application/json': { schema: PublicUserSchema } } },
    400: problemResponse('Malformed id'),
    404: problemResponse('No such user'),
  },
})

export const users = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  .openapi(getMe, async (c) => {
    const user = await c.var.deps.users.findById(c.var.session!.user.id)
    if (!user) return problem(c, 404, 'USER_NOT_FOUND', 'The account no longer exists') as never
    return c.json(me(user), 200)
  })
  .openapi(getUser, async (c) => {
    const user = await c.var.deps.users.findById(c.req.valid('param').id)
    if (!user) return problem(c, 404, 'USER_NOT_FOUND', 'No such user') as never
    return c.json(publicUser(user), 200)
  })
