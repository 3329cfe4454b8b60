/**
 * Node entry (`npm start`). With no environment it runs fully embedded: in-memory Redis/queue
 * adapters and PGlite persisted under DATA_DIR (default .data/). With the standard env vars set it
 * uses Upstash, QStash and Neon like the Worker. Migrations are applied at start.
 */
import { type ServerType, serve } from '@hono/node-server'
import type { ExecutionContext } from 'hono'
import { createDatabase } from '../adapters/postgres/db.ts'
import { migrateDatabase } from '../adapters/postgres/migrate.ts'
import { seedDemoShops } from '../adapters/postgres/seed.ts'
import { DirectoryAssets } from '../adapters/system/file-assets.ts'
import { createNodeRestRedis } from '../adapters/upstash/rest-node.ts'
import { openTcpRedis } from '../adapters/upstash/tcp.ts'
import { createApp } from './app.ts'
import { type Container, type ContainerOptions, createContainer } from './deps.ts'
import { runJobs } from './jobs.ts'
import { errorFields } from './log.ts'
import { appJobs, appTopics } from './modules.ts'
import { startCluster } from './node-cluster.ts'

export interface NodeServer {
  url: string
  /** The server's dependency container (scripts and tests reach the adapters through it). */
  container: Container
  close(): Promise<void>
}

export interface NodeServerOptions extends ContainerOptions {
  env?: Record<string, string | undefined>
  port?: number
  hostname?: string
  /** Run periodic jobs every this many ms (0 = never). Default 60 000. */
  jobsEveryMs?: number
}

export async function startNodeServer(options: NodeServerOptions = {}): Promise<NodeServer> {
  const env = options.env ?? process.env
  let seeded = false
  const container = await createContainer(
    env,
    {
      databasePerRequest: false,
      requireCloudServices: false,
      openTcpRedis,
      restRedis: createNodeRestRedis,
      postgresOverTcp: true,
      embeddedDatabase: (config) =>
        createDatabase(
          config.dataDir === ':memory:'
            ? { driver: 'pglite' }
            : { driver: 'pglite', dataDir: `${config.dataDir}/pglite` }
        ),
      prepareDatabase: async (handle, config) => {
        await migrateDatabase(handle)
        // First run: the demo shops (SEED_DEMO_DATA, default on in development).
        if (config.shops.seedDemoData) seeded = (await seedDemoShops(handle.db)).seeded
      },
    },
    { topics: appTopics, ...options }
  )
  if (container.config.shops.seedDemoData) await warmShopIndexes(container, seeded)
  const app = createApp(container, {
    assets: new DirectoryAssets(
      env.PUBLIC_DIR ?? new URL('../../public', import.meta.url).pathname
    ),
  })
  const inflight = new Set<Promise<unknown>>()
  const ctx: ExecutionContext = {
    waitUntil(work: Promise<unknown>) {
      const settled = work.catch(() => {})
      inflight.add(settled)
      settled.finally(() => inflight.delete(settled))
    },
    passThroughOnException() {},
    props: {},
  }
  const jobsEveryMs = options.jobsEveryMs ?? 60_000
  const timer =
    jobsEveryMs > 0 && appJobs.length > 0
      ? setInterval(() => ctx.waitUntil(runJobs(container, appJobs, 'timer')), jobsEveryMs)
      : undefined
  const hostname = options.hostname ?? '127.0.0.1'
  const server = await new Promise<ServerType>((resolve) => {
    const s = serve(
      { fetch: (req) => app.fetch(req, env, ctx), port: options.port ?? 3000, hostname },
      () => resolve(s)
    )
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : options.port
  const url = `http://${hostname}:${port}`
  container.log.info('listening', {
    url,
    redis: container.config.redisTcp ? 'tcp' : container.config.redis ? 'upstash' : 'memory',
    queue: container.config.qstash ? 'qstash' : 'memory',
    database: container.config.database
      ? container.config.database.localProxy
        ? 'neon-serverless'
        : 'node-postgres'
      : 'pglite',
  })
  return {
    url,
    container,
    async close() {
      clearInterval(timer)
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await Promise.all(inflight)
      await container.close()
    },
  }
}

/**
 * Loads the shop Bloom filter and GEO sets (with in-memory Redis they start empty on every run):
 * a full rebuild after seeding, else only when missing. Failure is not fatal: reads rebuild them
 * on demand.
 */
async function warmShopIndexes(container: Container, rebuild: boolean): Promise<void> {
  const scope = await container.scope()
  try {
    const shops = scope.deps.shops
    const result = rebuild ? await shops.rebuildIndexes() : await shops.ensureIndexes()
    container.log.info('shop indexes', { result })
  } catch (e) {
    container.log.warn('shop indexes not warmed; reads rebuild them on demand', errorFields(e))
  } finally {
    await scope.finish()
  }
}

// With external Redis and Postgres the primary only supervises workers (node-cluster.ts).
if (import.meta.main && !startCluster(process.env)) {
  const server = await startNodeServer({
    port: Number(process.env.PORT ?? 3000),
    hostname: process.env.HOST ?? '127.0.0.1',
  })
  const stop = async () => {
    await server.close()
    process.exit(0)
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}
