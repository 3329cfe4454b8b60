import { OpenAPIHono } from '@hono/zod-openapi'
import { Scalar } from '@scalar/hono-api-reference'
import { requestId } from 'hono/request-id'
import type { Container } from './deps.ts'
import { type AssetSource, serveAssets } from './http/assets.ts'
import { loadSession } from './http/auth.ts'
import type { AppEnv } from './http/env.ts'
import { errorHandler } from './http/errors.ts'
import { problem } from './http/problem.ts'
import { trackVisitors } from './http/social.ts'
import { validationHook } from './http/validation.ts'
import { auth } from './routes/auth.ts'
import { blogRoutes } from './routes/blogs.ts'
import { feedRoutes } from './routes/feed.ts'
import { followRoutes } from './routes/follows.ts'
import { health } from './routes/health.ts'
import { liveRoutes } from './routes/live.ts'
import { orderRoutes } from './routes/orders.ts'
import { queue } from './routes/queue.ts'
import { seckillHotPath } from './routes/seckill.ts'
import { shopRoutes } from './routes/shops.ts'
import { signInRoutes } from './routes/signin.ts'
import { statsRoutes } from './routes/stats.ts'
import { users } from './routes/users.ts'

export const API_TITLE = 'edge-seckill API'
export const API_VERSION = '0.1.0'

/**
 * The HTTP app, identical on Workers, Node and Deno. Per request it opens a dependency scope from
 * the container and hands the scope's cleanup (and any background work) to `waitUntil`.
 */
export interface AppOptions {
  /** Static files of `public/` for runtimes without Workers static assets (Node, Deno, Bun). */
  assets?: AssetSource
}

export function createApp(container: Container, options: AppOptions = {}) {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook })
  const log = container.log

  app.use(requestId())
  app.use(async (c, next) => {
    const started = performance.now()
    await next()
    log.info('request', {
      requestId: c.var.requestId,
      method: c.req.method,
      path: c.req.path,
      status: c.res.status,
      ms: Math.round((performance.now() - started) * 10) / 10,
    })
  })
  app.use(serveAssets(options.assets))
  app.use(async (c, next) => {
    const scope = await container.scope()
    c.set('deps', scope.deps)
    try {
      await next()
    } finally {
      c.executionCtx.waitUntil(scope.finish())
    }
  })

  // The flash-sale hot path authenticates itself (its session read shares one pipelined Redis
  // request with the rate limits), so it is mounted before the global session middleware.
  app.route('/', seckillHotPath)
  app.use(loadSession)
  // Unique visitors: successful GET page views, recorded after the response (UV_TRACKING).
  app.use(trackVisitors)

  app.onError(errorHandler(() => log))
  app.notFound((c) =>
    problem(c, 404, 'ROUTE_NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`)
  )

  app.route('/', health)
  app.route('/', auth)
  app.route('/', users)
  app.route('/', shopRoutes)
  app.route('/', orderRoutes)
  app.route('/', liveRoutes)
  app.route('/', blogRoutes)
  app.route('/', followRoutes)
  app.route('/', feedRoutes)
  app.route('/', signInRoutes)
  app.route('/', statsRoutes)
  app.route('/', queue)

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'Session token from POST /auth/login',
  })
  app.doc31('/openapi.json', {
    openapi: '3.1.0',
    info: {
      title: API_TITLE,
      version: API_VERSION,
      description:
        'Flash-sale vouchers and local reviews at the edge. Every error is application/problem+json with a stable `code`; every response carries X-Request-Id.',
    },
  })
  app.get('/docs', Scalar({ url: '/openapi.json', pageTitle: `${API_TITLE} docs` }))
  return app
}

export type App = ReturnType<typeof createApp>
