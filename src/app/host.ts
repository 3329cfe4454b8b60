/**
 * The long-running host shared by the server entries (Node and Bun: node.ts; Deno: deno.ts): the
 * container with the embedded PGlite fallback, migrations and demo data at start, the asset
 * directory, an ExecutionContext whose waitUntil work is awaited on close, and the periodic jobs
 * on a timer. The entries only add the HTTP listener.
 */
import type { ExecutionContext } from 'hono'
import { analyzeGrownTables } from '../adapters/postgres/analyze.ts'
import { createDatabase, type DatabaseHandle } from '../adapters/postgres/db.ts'
import { migrateDatabase } from '../adapters/postgres/migrate.ts'
import { seedDemoShops } from '../adapters/postgres/seed.ts'
import { nodeHashing } from '../adapters/qstash/node-hashing.ts'
import { DirectoryAssets } from '../adapters/system/file-assets.ts'
import { MacrotaskPacer } from '../adapters/system/pacer.ts'
import { createNodeRestRedis } from '../adapters/upstash/rest-node.ts'
import { openTcpRedis } from '../adapters/upstash/tcp.ts'
import { createApp } from './app.ts'
import { type Container, type ContainerOptions, createContainer } from './deps.ts'
import { type Job, runJobs } from './jobs.ts'
import { errorFields } from './log.ts'
import { appJobs, appTopics } from './modules.ts'

export interface HostOptions extends ContainerOptions {
  env: Record<string, string | undefined>
  /** Run periodic jobs every this many ms (0 = never). Default 60 000. */
  jobsEveryMs?: number
  /** Adds routes after the app's own (the benchmarks' hello-world route of the same app). */
  extendApp?: (app: ReturnType<typeof createApp>) => void
}

export interface Host {
  /** The dependency container (scripts and tests reach the adapters through it). */
  container: Container
  /** The app's fetch handler, bound to the env and the host's ExecutionContext. */
  fetch(request: Request): Response | Promise<Response>
  /**
   * Stops the job timer, runs `stopListening` (the entry's listener shutdown: no new requests, open
   * connections closed), waits for background work, then closes the container.
   */
  close(stopListening: () => Promise<void>): Promise<void>
}

export async function startHost(options: HostOptions): Promise<Host> {
  const { env } = options
  let seeded = false
  let embedded: DatabaseHandle | undefined
  const container = await createContainer(
    env,
    {
      databasePerRequest: false,
      requireCloudServices: false,
      // TCP Redis (REDIS_URL), Upstash REST on a keep-alive pool (undici: Node itself; Bun and Deno
      // keep their native fetch), any Postgres over TCP.
      openTcpRedis,
      restRedis: isPlainNode() ? createNodeRestRedis : undefined,
      postgresOverTcp: true,
      // The queue signature check hashes with node:crypto (no thread-pool hop per Web Crypto call).
      signatureHashing: nodeHashing,
      embeddedDatabase: async (config) =>
        (embedded = await createDatabase(
          config.dataDir === ':memory:'
            ? { driver: 'pglite' }
            : { driver: 'pglite', dataDir: `${config.dataDir}/pglite` }
        )),
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
  options.extendApp?.(app)
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
  const jobs: readonly Job[] = embedded ? [...appJobs, pgliteAnalyze(embedded)] : appJobs
  const jobsEveryMs = options.jobsEveryMs ?? 60_000
  // One run at a time: a run still going when the timer fires again (a big sale on a slow
  // machine) makes that tick skip, so job runs never pile up on the thread requests share.
  let jobsRunning = false
  const runTick = () => {
    if (jobsRunning) return
    jobsRunning = true
    ctx.waitUntil(runJobs(container, jobs, 'timer').finally(() => (jobsRunning = false)))
  }
  const timer = jobsEveryMs > 0 && jobs.length > 0 ? setInterval(runTick, jobsEveryMs) : undefined
  return {
    container,
    fetch: (request) => app.fetch(request, env, ctx),
    async close(stopListening) {
      clearInterval(timer)
      await stopListening()
      await Promise.all(inflight)
      await container.close()
    },
  }
}

/** The embedded database's ANALYZE (PGlite has no autovacuum), one grown table per turn. */
function pgliteAnalyze(handle: DatabaseHandle): Job {
  const pacer = new MacrotaskPacer()
  return { name: 'pglite-analyze', run: () => analyzeGrownTables(handle, () => pacer.pause()) }
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

/** The fields of the 'listening' log line every server entry writes once it accepts requests. */
export function listeningFields(container: Container, url: string) {
  const versions: Record<string, string | undefined> =
    (globalThis as { process?: { versions?: Record<string, string> } }).process?.versions ?? {}
  const runtime = versions.bun ? 'bun' : versions.deno ? 'deno' : 'node'
  return {
    url,
    runtime: `${runtime} ${versions[runtime] ?? ''}`.trim(),
    redis: container.config.redisTcp ? 'tcp' : container.config.redis ? 'upstash' : 'memory',
    queue: container.config.qstash ? 'qstash' : 'memory',
    database: container.config.database
      ? container.config.database.localProxy
        ? 'neon-serverless'
        : 'node-postgres'
      : 'pglite',
  }
}

/** Node itself, not Bun or Deno running the same entry through their Node compatibility. */
function isPlainNode(): boolean {
  return !('Bun' in globalThis) && !('Deno' in globalThis)
}
