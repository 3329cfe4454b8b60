import { ManualClock } from '../../src/adapters/memory/clock.ts'
import type { ContainerOptions, Deps, TopicFactory } from '../../src/app/deps.ts'
import { type NodeServer, startNodeServer } from '../../src/app/node.ts'
import { type LocalStack, startLocalStack } from '../stack/index.ts'
import { createTestDatabase, type TestDatabase } from './db.ts'
import { type AppFetch, appFetch, LOGIN_ABUSE_OFF } from './flows.ts'
import { freePort } from './net.ts'
import { deleteByPrefix, directRedis, uniquePrefix } from './redis.ts'
import { REDIS_URL } from './services.ts'
import { deleteEverywhere, tcpRedisUrl } from './transports.ts'

/**
 * 'memory': embedded adapters. 'real': the REST/WebSocket stand-ins (Upstash gateway → Redis, Neon
 * proxy → Postgres). 'tcp': Redis over TCP (REDIS_URL) and Postgres over TCP (pg). 'cluster': the
 * same on the 3-master Redis Cluster of the global setup. All but 'memory' use the QStash stand-in.
 */
export type AppKind = 'memory' | 'real' | 'tcp' | 'cluster'

export interface TestApp {
  kind: AppKind
  url: string
  clock: ManualClock
  server: NodeServer
  /** The real stand-ins (only for kind 'real'). */
  stack: LocalStack | undefined
  /** Redis key prefix of this app (kind 'real'). */
  prefix: string
  /** Its own Postgres database (every kind but 'memory'). */
  databaseUrl: string | undefined
  /** The app's long-lived dependencies (the Node server shares one scope). */
  deps(): Promise<Deps>
  fetch: AppFetch
  /**
   * Waits until nothing is in flight: background work (publishes), in-process deliveries and — on
   * the real stack — QStash deliveries that are due now (and the work they start).
   */
  settle(): Promise<void>
  close(): Promise<void>
}

export interface TestAppOptions {
  env?: Record<string, string>
  topics?: TopicFactory
  decorate?: ContainerOptions['decorate']
  /** Start time of the manual clock. */
  start?: number
}

/**
 * Starts the app as a real HTTP server on a manual clock. 'memory': embedded adapters and an
 * in-memory PGlite. 'real': the Upstash gateway over the local Redis (own key prefix), the QStash
 * stand-in delivering back to this server, and Postgres (a fresh database) through the Neon proxy.
 */
export async function startTestApp(kind: AppKind, options: TestAppOptions = {}): Promise<TestApp> {
  const clock = new ManualClock(options.start)
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const prefix = uniquePrefix(kind)
  let db: TestDatabase | undefined
  let stack: LocalStack | undefined
  let env: Record<string, string> = {
    APP_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATA_DIR: ':memory:',
    ...LOGIN_ABUSE_OFF,
  }
  if (kind !== 'memory') {
    db = await createTestDatabase()
    stack = await startLocalStack({
      redisUrl: REDIS_URL,
      databaseUrl: db.url,
      qstash: { clock: 'manual' },
      neon: { clock },
    })
    env = { ...env, ...stack.env, PUBLIC_URL: url, REDIS_KEY_PREFIX: prefix }
    if (kind === 'tcp' || kind === 'cluster') {
      // The TCP transports: no REST gateway, no WebSocket proxy (only the QStash stand-in is used).
      const { UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, NEON_LOCAL_PROXY, ...rest } = env
      env = { ...rest, REDIS_URL: tcpRedisUrl(kind) }
    }
  }
  const server = await startNodeServer({
    port,
    env: { ...env, ...options.env },
    jobsEveryMs: 0, // tests run jobs explicitly
    clock,
    ...(options.topics ? { topics: options.topics } : {}),
    ...(options.decorate ? { decorate: options.decorate } : {}),
  })
  return {
    kind,
    url,
    clock,
    server,
    stack,
    prefix,
    databaseUrl: db?.url,
    deps: async () => (await server.container.scope()).deps,
    fetch: appFetch(fetch, url),
    async settle() {
      for (;;) {
        const before = JSON.stringify(stack?.qstash.stats())
        await server.container.settle()
        await stack?.qstash.idle()
        await server.container.settle()
        if (JSON.stringify(stack?.qstash.stats()) === before) return
      }
    },
    async close() {
      await server.close()
      await stack?.close()
      await db?.drop()
      if (kind === 'real') {
        const redis = await directRedis()
        await deleteByPrefix(redis, prefix)
        await redis.quit()
      } else if (kind !== 'memory') await deleteEverywhere(kind, prefix)
    },
  }
}

/**
 * The kinds to run an end-to-end suite on: memory always, 'real' when Redis and Postgres exist.
 * The TCP kinds are opted into by the suites that cover them (`tcpAppKinds`).
 */
export function appKinds(services: { redis: boolean; postgres: boolean }): AppKind[] {
  return services.redis && services.postgres ? ['memory', 'real'] : ['memory']
}

/** 'tcp', and 'cluster' when the global setup's Redis Cluster runs (needs Redis and Postgres). */
export function tcpAppKinds(services: {
  redis: boolean
  postgres: boolean
  redisCluster: string | null
}): AppKind[] {
  if (!services.redis || !services.postgres) return []
  return services.redisCluster ? ['tcp', 'cluster'] : ['tcp']
}
