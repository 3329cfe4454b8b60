import { OpenAPIHono } from '@hono/zod-openapi'
import type { AppEnv } from '../../http/env.ts'
import { hmdpBlogs } from './blogs.ts'
import { hmdpErrorHandler } from './envelope.ts'
import { hmdpSeckill } from './seckill.ts'
import { hmdpShops } from './shops.ts'
import { hmdpImages, hmdpUploads } from './uploads.ts'
import { hmdpUsers } from './users.ts'

export { hmdpImages, hmdpSeckill }

/**
 * The original hmdp web pages' API (issue 12), at the original paths: a driving adapter over the
 * same domain services as the rest of the API. Every answer is the original's `Result` envelope;
 * refusals are 200 `success: false`, logged out is 401. Mounted apart: `/imgs/...` (hmdpImages) at
 * the root whatever the prefix, and the flash-sale purchase (hmdpSeckill), which authenticates
 * itself, before the global session middleware.
 */
export const hmdpRoutes = new OpenAPIHono<AppEnv>()
for (const part of [hmdpUsers, hmdpShops, hmdpSeckill, hmdpBlogs, hmdpUploads, hmdpImages]) {
  part.onError(hmdpErrorHandler)
}
hmdpRoutes.route('/', hmdpUsers).route('/', hmdpShops).route('/', hmdpBlogs).route('/', hmdpUploads)
