/**
 * The composition root: the only module that picks adapters. Environment variables decide:
 * Upstash Redis when UPSTASH_REDIS_REST_* are set (else in-memory), QStash when QSTASH_* are set
 * (else in-process delivery), Neon Postgres when DATABASE_URL is set (else the platform's embedded
 * database, PGlite on Node).
 */
import { MemoryIds } from '../adapters/memory/ids.ts'
import { MemoryLock } from '../adapters/memory/lock.ts'
import { MemoryLoginCodes } from '../adapters/memory/login-codes.ts'
import { MemoryQueue, RejectAllVerifier } from '../adapters/memory/queue.ts'
import { MemorySessionStore } from '../adapters/memory/sessions.ts'
import { MemoryWindowLimiter } from '../adapters/memory/window-limiter.ts'
import { createDatabase, type DatabaseHandle } from '../adapters/postgres/db.ts'
import { DrizzleUserRepository } from '../adapters/postgres/user-repository.ts'
import { createQStashClient, QStashQueue, QStashVerifier } from '../adapters/qstash/queue.ts'
import { SystemClock } from '../adapters/system/clock.ts'
import { LogCodeSender } from '../adapters/system/code-sender.ts'
import { createUpstashRedis } from '../adapters/upstash/client.ts'
import { UpstashIds } from '../adapters/upstash/ids.ts'
import { UpstashLock } from '../adapters/upstash/lock.ts'
import { UpstashLoginCodes } from '../adapters/upstash/login-codes.ts'
import { UpstashSessionStore } from '../adapters/upstash/sessions.ts'
import { UpstashWindowLimiter } from '../adapters/upstash/window-limiter.ts'
import type { Clock } from '../domain/ports/clock.ts'
import type { CodeSender } from '../domain/ports/code-sender.ts'
import type { Ids } from '../domain/ports/ids.ts'
import type { Lock } from '../domain/ports/lock.ts'
import type { LoginCodes } from '../domain/ports/login-codes.ts'
import type { DeliveryVerifier, Queue, TopicHandlers } from '../domain/ports/queue.ts'
import type { SessionStore } from '../domain/ports/session.ts'
import type { UserRepository } from '../domain/ports/users.ts'
import type { WindowLimiter } from '../domain/ports/window-limiter.ts'
import { type AppConfig, ConfigError, loadConfig } from './config.ts'
import { createLogger, errorFields, type Logger } from './log.ts'

/** A dependency /health reports on. */
export interface Probe {
  name: 'redis' | 'database' | 'queue'
  /** Which adapter serves it, e.g. 'upstash', 'memory', 'neon-serverless', 'pglite', 'qstash'. */
  adapter: string
  /** Resolves when the dependency answers; rejects otherwise. */
  check(): Promise<void>
}

/** The adapters that live in Redis (Upstash) or, without it, in memory. */
interface RedisBacked {
  ids: Ids
  lock: Lock
  sessions: SessionStore
  codes: LoginCodes
  limiter: WindowLimiter
}

/** Everything a request handler or job may use. */
export interface Deps extends RedisBacked {
  config: AppConfig
  log: Logger
  clock: Clock
  codeSender: CodeSender
  queue: Queue
  verifier: DeliveryVerifier
  users: UserRepository
  topics: TopicHandlers
  probes: Probe[]
  /** Hands off work that must finish after the response (Workers: waitUntil). Never leave a floating promise. */
  background(work: Promise<unknown>): void
}

export type TopicFactory = (deps: Omit<Deps, 'topics'>) => TopicHandlers

export interface Platform {
  /** Workers: the database (Neon WebSocket pool) is opened per request and closed after it. */
  databasePerRequest: boolean
  /** Workers: refuse to start on in-memory stand-ins for Redis or the queue (they'd lose state). */
  requireCloudServices: boolean
  /** Node: the database used when DATABASE_URL is unset. */
  embeddedDatabase?: (config: AppConfig) => Promise<DatabaseHandle>
  /** Runs once on every long-lived database handle (Node: apply migrations). */
  prepareDatabase?: (handle: DatabaseHandle) => Promise<void>
}

export interface ContainerOptions {
  /** Replace the wall clock (tests). */
  clock?: Clock
  /** Consumers of queue topics; the app's own by default. */
  topics?: TopicFactory
  /** Log sink (tests capture lines). */
  logSink?: (line: string) => void
}

/** One request's (or one job's) view of the container. */
export interface Scope {
  deps: Deps
  /** Settles background work, then closes per-request resources. Give it to waitUntil. */
  finish(): Promise<void>
}

export interface Container {
  readonly config: AppConfig
  readonly log: Logger
  scope(): Promise<Scope>
  close(): Promise<void>
}

export async function createContainer(
  env: Record<string, unknown>,
  platform: Platform,
  options: ContainerOptions = {}
): Promise<Container> {
  const config = loadConfig(env)
  const log = createLogger(config.logLevel, options.logSink)
  if (platform.requireCloudServices) {
    const missing = [
      !config.redis && 'UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN',
      !config.qstash && 'QSTASH_TOKEN (+ signing keys, PUBLIC_URL)',
      !config.database && 'DATABASE_URL',
    ].filter((m): m is string => Boolean(m))
    if (missing.length > 0) throw new ConfigError(missing.map((m) => `${m} is required here`))
  }
  const clock = options.clock ?? new SystemClock()
  const topicsFor = options.topics ?? (() => ({}))
  const probes: Probe[] = []

  // Everything Redis-backed: Upstash when configured, else the in-memory equivalents.
  let kv: RedisBacked
  if (config.redis) {
    const redis = createUpstashRedis(config.redis)
    const prefix = config.redisKeyPrefix
    kv = {
      ids: new UpstashIds(redis, clock, prefix),
      lock: new UpstashLock(redis, clock, prefix),
      sessions: new UpstashSessionStore(redis, clock, prefix),
      codes: new UpstashLoginCodes(redis, clock, prefix),
      limiter: new UpstashWindowLimiter(redis, clock, prefix),
    }
    probes.push({ name: 'redis', adapter: 'upstash', check: async () => void (await redis.ping()) })
  } else {
    kv = {
      ids: new MemoryIds(clock),
      lock: new MemoryLock(clock),
      sessions: new MemorySessionStore(clock),
      codes: new MemoryLoginCodes(clock),
      limiter: new MemoryWindowLimiter(clock),
    }
    probes.push({ name: 'redis', adapter: 'memory', check: async () => {} })
  }
  const codeSender = new LogCodeSender({
    production: config.env === 'production',
    log: (msg, fields) => log.info(msg, fields),
    warn: (msg, fields) => log.warn(msg, fields),
  })

  let shared: DatabaseHandle | undefined
  const openDatabase = async (): Promise<DatabaseHandle> => {
    if (config.database) {
      return createDatabase({
        driver: 'neon-serverless',
        url: config.database.url,
        localProxy: config.database.localProxy,
      })
    }
    if (platform.embeddedDatabase) return platform.embeddedDatabase(config)
    throw new ConfigError(['DATABASE_URL is required on this platform'])
  }
  if (!platform.databasePerRequest) {
    shared = await openDatabase()
    await platform.prepareDatabase?.(shared)
  }

  const pending = new Set<Promise<unknown>>()
  const track = (work: Promise<unknown>) => {
    const settled = work.then(
      () => {},
      (e) => log.error('background work failed', errorFields(e))
    )
    pending.add(settled)
    settled.finally(() => pending.delete(settled))
    return settled
  }

  let queue: Queue
  let verifier: DeliveryVerifier
  let memoryQueue: MemoryQueue | undefined
  let sharedDeps: Deps | undefined
  if (config.qstash) {
    const client = createQStashClient(config.qstash)
    const base = `${config.publicUrl}/internal/queue`
    queue = new QStashQueue(client, {
      consumerUrl: (topic) => `${base}/${topic}`,
      deadLetterUrl: (topic) => `${base}/${topic}/dead`,
    })
    verifier = new QStashVerifier({
      current: config.qstash.currentSigningKey,
      next: config.qstash.nextSigningKey,
    })
    probes.push({
      name: 'queue',
      adapter: 'qstash',
      check: async () => void (await client.dlq.listMessages({ count: 1 })),
    })
  } else {
    // In-process delivery runs outside any request, on the long-lived (shared) dependencies.
    memoryQueue = new MemoryQueue(clock, () => sharedDeps?.topics ?? {}, {
      onError: (topic, messageId, e) =>
        log.warn('delivery failed', { topic, messageId, ...errorFields(e) }),
    })
    queue = memoryQueue
    verifier = new RejectAllVerifier()
    probes.push({ name: 'queue', adapter: 'memory', check: async () => {} })
  }

  const build = (db: DatabaseHandle, background: (work: Promise<unknown>) => void): Deps => {
    const base: Omit<Deps, 'topics'> = {
      config,
      log,
      clock,
      ...kv,
      codeSender,
      queue,
      verifier,
      users: new DrizzleUserRepository(db.db),
      probes: [...probes, { name: 'database', adapter: db.driver, check: () => db.ping() }],
      background,
    }
    return { ...base, topics: topicsFor(base) }
  }
  if (shared) sharedDeps = build(shared, (work) => void track(work))

  return {
    config,
    log,
    async scope() {
      if (shared) {
        return { deps: sharedDeps!, finish: async () => {} }
      }
      const db = await openDatabase()
      const mine = new Set<Promise<unknown>>()
      const deps = build(db, (work) => void mine.add(track(work)))
      return {
        deps,
        finish: async () => {
          await Promise.all(mine)
          await db.close()
        },
      }
    },
    async close() {
      await memoryQueue?.close()
      await Promise.all(pending)
      await shared?.close()
    },
  }
}
