import { OpenAPIHono } from '@hono/zod-openapi'
import type { MiddlewareHandler } from 'hono'
import { requestId } from 'hono/request-id'
import type { Container, Scope } from './deps.ts'
import { docsPage } from './docs.ts'
import { type AssetSource, serveAssets } from './http/assets.ts'
import { loadSession } from './http/auth.ts'
import { limitBody } from './http/body-limit.ts'
import { captureSocketAddress } from './http/client-ip.ts'
import { corsFor, methodNotAllowed, securityHeaders } from './http/edges.ts'
import type { AppEnv } from './http/env.ts'
import { errorHandler } from './http/errors.ts'
import { rejectNul } from './http/input-guard.ts'
import { completeDocument, methodIndex } from './http/openapi-doc.ts'
import { problem } from './http/problem.ts'
import { trackVisitors } from './http/social.ts'
import { validationHook } from './http/validation.ts'
import { auth } from './routes/auth.ts'
import { blogRoutes } from './routes/blogs.ts'
import { feedRoutes } from './routes/feed.ts'
import { followRoutes } from './routes/follows.ts'
import { health } from './routes/health.ts'
import { hmdpImages, hmdpRoutes, hmdpSeckill } from './routes/hmdp/index.ts'
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

  // Middleware that would do nothing (CORS off, the access log's level off) is not mounted at all:
  // every layer costs each request an async step.
  app.use(requestId())
  if (container.config.cors) app.use(corsFor(container.config.cors))
  app.use(securityHeaders(container.config.cors !== null))
  // The access log, unless its level is off (LOG_LEVEL=warn and above; a logger's level is fixed).
  if (log.enabled?.('info') !== false)
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
  app.use(captureSocketAddress)
  // Photo uploads (hmdp) carry their own limit, UPLOAD_MAX_BYTES (routes/hmdp/uploads.ts).
  const uploadPath = `${container.config.hmdp.prefix}/upload/blog`
  app.use(limitBody((path) => container.config.hmdp.enabled && path === uploadPath))
  app.use(serveAssets(options.assets))
  app.use(rejectNul)
  // The container's shared scope (Node, Deno: no per-request resources) is kept after the first
  // request: no async step and nothing to finish per request.
  let shared: Scope | undefined
  app.use((c, next) => {
    if (!shared) return scoped(c, next)
    c.set('deps', shared.deps)
    return next()
  })
  const scoped: MiddlewareHandler<AppEnv> = async (c, next) => {
    const scope = await container.scope()
    if (scope.shared) shared = scope
    c.set('deps', scope.deps)
    try {
      await next()
    } finally {
      c.executionCtx.waitUntil(scope.finish())
    }
  }

  // The flash-sale hot path authenticates itself (its session read shares one pipelined Redis
  // request with the rate limits), so it is mounted before the global session middleware. So are
  // the signed queue deliveries: they carry no session and are never page views, so the session
  // and visitor middlewares only cost them CPU (and a bearer token sent to them, a session read).
  const routed = app.route('/', seckillHotPath).route('/', queue)
  if (container.config.hmdp.enabled) app.route(container.config.hmdp.prefix || '/', hmdpSeckill)
  app.use(loadSession)
  // Unique visitors: successful GET page views, recorded after the response (UV_TRACKING).
  app.use(trackVisitors)

  app.onError(errorHandler(() => log))
  let methodsOf: ((path: string) => string[] | null) | undefined
  app.notFound((c) => {
    methodsOf ??= methodIndex(document(), { '/docs': ['GET'], '/openapi.json': ['GET'] })
    return (
      methodNotAllowed(c, methodsOf) ??
      problem(c, 404, 'ROUTE_NOT_FOUND', `No route for ${c.req.method} ${c.req.path}`)
    )
  })

  // One chain, so the returned app's type carries every route's schema (hono/client: src/client.ts).
  const api = routed
    .route('/', health)
    .route('/', auth)
    .route('/', users)
    .route('/', shopRoutes)
    .route('/', orderRoutes)
    .route('/', liveRoutes)
    .route('/', blogRoutes)
    .route('/', followRoutes)
    .route('/', feedRoutes)
    .route('/', signInRoutes)
    .route('/', statsRoutes)
  // The original hmdp web pages' API (issue 12): HMDP_COMPAT=on|off, HMDP_PREFIX (default none).
  if (container.config.hmdp.enabled) {
    app.route(container.config.hmdp.prefix || '/', hmdpRoutes).route('/', hmdpImages)
  }

  app.openAPIRegistry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: 'Session token from POST /auth/login',
  })
  app.openAPIRegistry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: '__Host-session',
    description:
      'Browser sessions (SESSION_COOKIE=on): set at login, HttpOnly; Secure; SameSite=Lax. Unsafe requests authenticated by it need an allowed Origin or Sec-Fetch-Site: same-origin, else 403 CSRF_REJECTED.',
  })
  // The generated document, completed with the statuses every route shares (http/openapi-doc.ts).
  let doc: ReturnType<typeof app.getOpenAPI31Document> | undefined
  const document = () =>
    (doc ??= completeDocument(
      app.getOpenAPI31Document({
        openapi: '3.1.0',
        info: {
          title: API_TITLE,
          version: API_VERSION,
          description:
            'Flash-sale vouchers and local reviews at the edge. Every error is application/problem+json with a stable `code`; every response carries X-Request-Id.',
        },
      })
    ))
  app.get('/openapi.json', (c) => c.json(document()))
  app.get('/docs', docsPage(`${API_TITLE} docs`))
  return api
}

export type App = ReturnType<typeof createApp>
