/**
 * The composition root: the only module that picks adapters. Environment variables decide:
 * Upstash Redis when UPSTASH_REDIS_REST_* are set (else in-memory), QStash when QSTASH_* are set
 * (else in-process delivery), Neon Postgres when DATABASE_URL is set (else the platform's embedded
 * database, PGlite on Node).
 */

import {
  DurableObjectBroadcast,
  DurableObjectStockFeed,
  isDurableObjectNamespace,
  serveLiveHub,
} from '../adapters/durable-objects/live-hub.ts'
import { MemoryBlobStore } from '../adapters/memory/blobs.ts'
import { memoryBroadcast } from '../adapters/memory/broadcast.ts'
import { MemoryCacheStore } from '../adapters/memory/cache-store.ts'
import { MemoryFeedInbox } from '../adapters/memory/feed.ts'
import { MemoryFollowIndex } from '../adapters/memory/follows.ts'
import { MemoryGeoIndex } from '../adapters/memory/geo.ts'
import { MemoryIds } from '../adapters/memory/ids.ts'
import { MemoryLikeIndex } from '../adapters/memory/likes.ts'
import { MemoryLock } from '../adapters/memory/lock.ts'
import { MemoryLoginCodes } from '../adapters/memory/login-codes.ts'
import { MemoryQueue, RejectAllVerifier } from '../adapters/memory/queue.ts'
import { MemoryRateLimiter } from '../adapters/memory/rate-limiter.ts'
import { MemorySessionStore } from '../adapters/memory/sessions.ts'
import { MemorySignInCalendar } from '../adapters/memory/signins.ts'
import { MemoryStockLedger } from '../adapters/memory/stock-ledger.ts'
import { MemoryVisitorCounter } from '../adapters/memory/visitors.ts'
import { MemoryWindowLimiter } from '../adapters/memory/window-limiter.ts'
import { DrizzleBlogRepository } from '../adapters/postgres/blog-repository.ts'
import { createDatabase, type DatabaseHandle } from '../adapters/postgres/db.ts'
import { DrizzleFollowRepository } from '../adapters/postgres/follow-repository.ts'
import { DrizzleProfileDirectory } from '../adapters/postgres/profile-directory.ts'
import {
  DrizzleOrderRepository,
  DrizzleVoucherRepository,
} from '../adapters/postgres/seckill-repository.ts'
import { DrizzleShopRepository } from '../adapters/postgres/shop-repository.ts'
import { DrizzleUserRepository } from '../adapters/postgres/user-repository.ts'
import type { BroadcastHub } from '../adapters/pubsub/hub.ts'
import { createQStashClient, QStashQueue, QStashVerifier } from '../adapters/qstash/queue.ts'
import type { SyncHashing } from '../adapters/qstash/signature.ts'
import { isR2Bucket, R2BlobStore } from '../adapters/r2/blobs.ts'
import { AliyunSmsSender } from '../adapters/sms/aliyun.ts'
import { WebhookCodeSender } from '../adapters/sms/webhook.ts'
import { SystemClock } from '../adapters/system/clock.ts'
import { LogCodeSender } from '../adapters/system/code-sender.ts'
import { MacrotaskPacer } from '../adapters/system/pacer.ts'
import { upstashBroadcast } from '../adapters/upstash/broadcast.ts'
import { UpstashCacheStore } from '../adapters/upstash/cache-store.ts'
import { createUpstashRedis, type Redis } from '../adapters/upstash/client.ts'
import { UpstashFeedInbox } from '../adapters/upstash/feed.ts'
import { UpstashFollowIndex } from '../adapters/upstash/follows.ts'
import { UpstashGeoIndex } from '../adapters/upstash/geo.ts'
import { UpstashIds } from '../adapters/upstash/ids.ts'
import { UpstashLikeIndex } from '../adapters/upstash/likes.ts'
import { UpstashLock } from '../adapters/upstash/lock.ts'
import { UpstashLoginCodes } from '../adapters/upstash/login-codes.ts'
import { UpstashRateLimiter } from '../adapters/upstash/rate-limiter.ts'
import type { NodeRestRedis } from '../adapters/upstash/rest-node.ts'
import { UpstashSessionStore } from '../adapters/upstash/sessions.ts'
import { UpstashSignInCalendar } from '../adapters/upstash/signins.ts'
import { UpstashStockLedger } from '../adapters/upstash/stock-ledger.ts'
import type { RedisTcpConfig, TcpRedis } from '../adapters/upstash/tcp.ts'
import { UpstashVisitorCounter } from '../adapters/upstash/visitors.ts'
import { UpstashWindowLimiter } from '../adapters/upstash/window-limiter.ts'
import { BloomFilter, type BloomShape, bloomShape } from '../domain/cache/bloom.ts'
import { CacheClient } from '../domain/cache/client.ts'
import { LocalCache } from '../domain/cache/local.ts'
import type { BlobStore } from '../domain/ports/blobs.ts'
import type { BlogRepository } from '../domain/ports/blogs.ts'
import type { Broadcast } from '../domain/ports/broadcast.ts'
import type { CacheStore } from '../domain/ports/cache.ts'
import type { Clock } from '../domain/ports/clock.ts'
import type { CodeSender } from '../domain/ports/code-sender.ts'
import type { FeedInbox } from '../domain/ports/feed.ts'
import type { FollowIndex, FollowRepository } from '../domain/ports/follows.ts'
import type { GeoIndex } from '../domain/ports/geo.ts'
import type { Ids } from '../domain/ports/ids.ts'
import type { LikeIndex } from '../domain/ports/likes.ts'
import type { Lock } from '../domain/ports/lock.ts'
import type { LoginCodes } from '../domain/ports/login-codes.ts'
import type { Pacer } from '../domain/ports/pacer.ts'
import type { ProfileDirectory } from '../domain/ports/profiles.ts'
import type { DeliveryVerifier, Queue, TopicHandlers } from '../domain/ports/queue.ts'
import type { RateLimiter } from '../domain/ports/rate-limiter.ts'
import type { SessionStore } from '../domain/ports/session.ts'
import type { ShopRepository } from '../domain/ports/shops.ts'
import type { SignInCalendar } from '../domain/ports/signins.ts'
import type { StockLedger } from '../domain/ports/stock.ts'
import type { UserRepository } from '../domain/ports/users.ts'
import type { VisitorCounter } from '../domain/ports/visitors.ts'
import type { OrderRepository, VoucherRepository } from '../domain/ports/vouchers.ts'
import type { WindowLimiter } from '../domain/ports/window-limiter.ts'
import { OrderBatcher } from '../domain/seckill/batcher.ts'
import {
  type LiveSeckill,
  STOCK_WATCH_EVERY_MS,
  type StockFeed,
  StockWatch,
} from '../domain/seckill/live.ts'
import { ShopService, shopKeys } from '../domain/shops/service.ts'
import { DedupingVisitorCounter } from '../domain/social/visitors.ts'
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
  ledger: StockLedger
  /**
   * The flash-sale token bucket per session; null when switched off. (The sale-wide bucket lives
   * in the ledger, with the sale: `config.seckill.saleLimit`.)
   */
  userLimiter: RateLimiter | null
  /** Social (issue 6): likers ZSETs, followee sets, feed inboxes, sign-in bitmaps, UV HLLs. */
  likeIndex: LikeIndex
  followIndex: FollowIndex
  inbox: FeedInbox
  signIns: SignInCalendar
  visitors: VisitorCounter
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
  vouchers: VoucherRepository
  orders: OrderRepository
  /** Social (issue 6): blogs + likes, follows, public profiles. */
  blogs: BlogRepository
  follows: FollowRepository
  profiles: ProfileDirectory
  /** Shops and shop types: cached reads, GEO search, cache-aside writes. */
  shops: ShopService
  /** Uploaded photos: R2 (binding IMAGES) on Workers, a directory under DATA_DIR on Node. */
  blobs: BlobStore
  topics: TopicHandlers
  /**
   * Live flash-sale views (SSE): order states over Broadcast (one broker subscription per
   * isolate/process) and remaining stock (one poller per watched sale and process).
   */
  live: LiveSeckill
  probes: Probe[]
  /** Hands off work that must finish after the response (Workers: waitUntil). Never leave a floating promise. */
  background(work: Promise<unknown>): void
  /** Lets the cron jobs give the event loop back between bounded chunks of work. */
  pacer: Pacer
  /**
   * Gathers accepted flash-sale orders into shared queue messages (group commit): one per process
   * on Node, one per request on Workers (whose I/O cannot be shared across requests).
   */
  batcher: OrderBatcher
}

export type TopicFactory = (deps: Omit<Deps, 'topics'>) => TopicHandlers

export interface Platform {
  /** Workers: the database (Neon WebSocket pool) is opened per request and closed after it. */
  databasePerRequest: boolean
  /** Workers: refuse to start on in-memory stand-ins for Redis or the queue (they'd lose state). */
  requireCloudServices: boolean
  /** Node: the database used when DATABASE_URL is unset. */
  embeddedDatabase?: (config: AppConfig) => Promise<DatabaseHandle>
  /**
   * Workers: I/O objects (a streaming subscribe) cannot be shared across requests, so each request
   * builds its own live views: with the LIVE_HUB Durable Object bound, a subscription streams from
   * the hub object that owns the channel (one broker subscription per hub object); without it, each
   * request that subscribes opens its own broker subscription.
   */
  subscriptionsPerRequest?: boolean
  /** Node: DATABASE_URL (without NEON_LOCAL_PROXY) is any Postgres over TCP, through `pg`. */
  postgresOverTcp?: boolean
  /** Node: Upstash REST through a keep-alive pool (undici) instead of the SDK's global fetch. */
  restRedis?: (config: { url: string; token: string }) => NodeRestRedis
  /** Node (Bun, Deno): opens Redis over TCP when REDIS_URL is set (absent on Workers: REST only). */
  openTcpRedis?: (config: RedisTcpConfig) => Promise<TcpRedis>
  /** Runs once on every long-lived database handle (Node: apply migrations, seed demo data). */
  prepareDatabase?: (handle: DatabaseHandle, config: AppConfig) => Promise<void>
  /** Node: where uploads live when there is no R2 binding (a directory under DATA_DIR). */
  embeddedBlobs?: (config: AppConfig) => BlobStore
  /** Node (Bun, Deno): synchronous hashing for the queue signature check instead of Web Crypto. */
  signatureHashing?: SyncHashing
}

export interface ContainerOptions {
  /** Replace the wall clock (tests). */
  clock?: Clock
  /** Consumers of queue topics; the app's own by default. */
  topics?: TopicFactory
  /** Log sink (tests capture lines). */
  logSink?: (line: string) => void
  /** Wraps repositories before use (tests: count database loads). */
  decorate?: {
    shops?: (repo: ShopRepository) => ShopRepository
    /** Wraps the queue (tests: inject publish failures). */
    queue?: (queue: Queue) => Queue
    /** Wraps the order repository (tests: interleave a commit between two reads). */
    orders?: (repo: OrderRepository) => OrderRepository
  }
}

/** One request's (or one job's) view of the container. */
export interface Scope {
  deps: Deps
  /** Settles background work, then closes per-request resources. Give it to waitUntil. */
  finish(): Promise<void>
  /**
   * True when this scope is the container's one shared scope: every `scope()` returns it and
   * `finish` does nothing (no per-request resources), so a caller may keep it.
   */
  shared?: true
}

export interface Container {
  readonly config: AppConfig
  readonly log: Logger
  scope(): Promise<Scope>
  /**
   * Resolves once background work and in-process queue deliveries have settled, including work
   * they started (deliveries waiting for a delay or backoff do not count). For tests and scripts.
   */
  settle(): Promise<void>
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
      !config.redis &&
        !(config.redisTcp && platform.openTcpRedis) &&
        'UPSTASH_REDIS_REST_URL/UPSTASH_REDIS_REST_TOKEN',
      !config.qstash && 'QSTASH_TOKEN (+ signing keys, PUBLIC_URL)',
      !config.database && 'DATABASE_URL',
    ].filter((m): m is string => Boolean(m))
    if (missing.length > 0) throw new ConfigError(missing.map((m) => `${m} is required here`))
  }
  const clock = options.clock ?? new SystemClock()
  const pacer = new MacrotaskPacer()
  // Uploaded photos: the Worker's R2 binding IMAGES, else the platform's own, else memory.
  const blobs: BlobStore = isR2Bucket(env.IMAGES)
    ? new R2BlobStore(env.IMAGES)
    : (platform.embeddedBlobs?.(config) ?? new MemoryBlobStore())
  const topicsFor = options.topics ?? (() => ({}))
  const probes: Probe[] = []

  // Everything Redis-backed: Upstash when configured, else the in-memory equivalents.
  const sk = config.seckill
  let kv: RedisBacked
  let makeBroadcast: () => Broadcast
  // A request's stock feed on Workers with the live hub bound (else a StockWatch, below).
  let makeStockFeed: (() => StockFeed) | undefined
  let cacheStore: CacheStore
  let geo: GeoIndex
  // Redis over TCP (REDIS_URL) where the runtime has TCP, else Upstash REST, else in-memory.
  const tcp = config.redisTcp && platform.openTcpRedis
  if (config.redisTcp && !tcp && !config.redis) {
    throw new ConfigError(['REDIS_URL needs a runtime with TCP (Node); set UPSTASH_REDIS_REST_*'])
  }
  let redisClients: TcpRedis | NodeRestRedis | undefined
  let clients:
    | { redis: Redis; raw: Redis; adapter: string; broadcast(prefix: string): Broadcast }
    | undefined
  if (tcp) {
    const opened = await tcp(config.redisTcp!)
    redisClients = opened
    clients = { ...opened, adapter: opened.kind, broadcast: (prefix) => opened.broadcast(prefix) }
  } else if (config.redis) {
    const rest = config.redis
    redisClients = platform.restRedis?.(rest)
    const pair = redisClients ?? {
      redis: createUpstashRedis(rest),
      raw: createUpstashRedis({ ...rest, rawReplies: true }),
    }
    clients = {
      redis: pair.redis,
      raw: pair.raw,
      adapter: 'upstash',
      broadcast: (prefix) => upstashBroadcast(pair.redis, rest, prefix),
    }
  }
  if (clients) {
    const { redis, raw } = clients
    const prefix = config.redisKeyPrefix
    // Sessions and the stock ledger read every purchase's replies. Over TCP they take the
    // raw-replies client (same connection; the SDK's JSON.parse of every string reply throws and
    // catches a SyntaxError per non-JSON string). Over REST each client auto-pipelines on its
    // own, so they stay on the client the rate limits and ids use: one HTTP request per batch.
    const hot = tcp ? raw : redis
    kv = {
      ids: new UpstashIds(redis, clock, prefix),
      lock: new UpstashLock(redis, clock, prefix),
      sessions: new UpstashSessionStore(hot, clock, prefix),
      codes: new UpstashLoginCodes(redis, clock, prefix),
      limiter: new UpstashWindowLimiter(redis, clock, prefix),
      // Over TCP a second round trip costs little: `saleOf` is written for acceptances only, so a
      // refusal costs no SET and no DEL. Over REST it rides in the reservation's HTTP request.
      ledger: new UpstashStockLedger(hot, clock, prefix, {
        ...config.seckill,
        saleIndex: tcp ? 'accepted' : 'every-call',
      }),
      userLimiter: sk.userLimit && new UpstashRateLimiter(redis, sk.userLimit, `${prefix}sk-user:`),
      likeIndex: new UpstashLikeIndex(redis, prefix),
      followIndex: new UpstashFollowIndex(redis, prefix),
      inbox: new UpstashFeedInbox(redis, prefix),
      signIns: new UpstashSignInCalendar(redis, prefix),
      visitors: new DedupingVisitorCounter(new UpstashVisitorCounter(redis, prefix)),
    }
    const { broadcast } = clients
    const hubs = platform.subscriptionsPerRequest ? env.LIVE_HUB : undefined
    if (isDurableObjectNamespace(hubs)) {
      const publisher = broadcast(prefix) // publishing opens no subscription
      makeBroadcast = () => new DurableObjectBroadcast(hubs, config.liveHubShards, publisher)
      makeStockFeed = () => new DurableObjectStockFeed(hubs, config.liveHubShards)
    } else makeBroadcast = () => broadcast(prefix)
    cacheStore = new UpstashCacheStore(raw, prefix)
    geo = new UpstashGeoIndex(raw, prefix)
    probes.push({
      name: 'redis',
      adapter: clients.adapter,
      check: async () => void (await redis.ping()),
    })
  } else {
    cacheStore = new MemoryCacheStore(clock)
    geo = new MemoryGeoIndex()
    const hub = memoryBroadcast()
    makeBroadcast = () => hub
    kv = {
      ids: new MemoryIds(clock),
      lock: new MemoryLock(clock),
      sessions: new MemorySessionStore(clock),
      codes: new MemoryLoginCodes(clock),
      limiter: new MemoryWindowLimiter(clock),
      ledger: new MemoryStockLedger(clock),
      userLimiter: sk.userLimit && new MemoryRateLimiter(clock, sk.userLimit),
      likeIndex: new MemoryLikeIndex(),
      followIndex: new MemoryFollowIndex(),
      inbox: new MemoryFeedInbox(),
      signIns: new MemorySignInCalendar(),
      visitors: new MemoryVisitorCounter(),
    }
    probes.push({ name: 'redis', adapter: 'memory', check: async () => {} })
  }
  const codeSender = createCodeSender(config, log)

  let shared: DatabaseHandle | undefined
  const openDatabase = async (): Promise<DatabaseHandle> => {
    if (config.database) {
      // Node: any Postgres over TCP (pg Pool); Workers, or the local Neon proxy: Neon's driver.
      if (platform.postgresOverTcp && !config.database.localProxy) {
        return createDatabase({ driver: 'node-postgres', url: config.database.url })
      }
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
    await platform.prepareDatabase?.(shared, config)
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
    verifier = new QStashVerifier(
      { current: config.qstash.currentSigningKey, next: config.qstash.nextSigningKey },
      platform.signatureHashing ? { hashing: platform.signatureHashing } : {}
    )
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

  // Isolate-wide: the L1 and Redis-health view are shared by every request of this isolate.
  const local = new LocalCache({
    maxEntries: config.cache.l1MaxEntries,
    ttlMs: config.cache.l1TtlMs,
  })
  let bloom: BloomShape | undefined
  try {
    bloom = config.shops.bloom && bloomShape(config.shops.bloom.expected, config.shops.bloom.fpRate)
  } catch (e) {
    throw new ConfigError([`BLOOM_EXPECTED_SHOPS/BLOOM_FP_RATE: ${(e as Error).message}`])
  }
  const shopService = (d: ShopWiring) => {
    const repo = new DrizzleShopRepository(d.db.db)
    const cache = new CacheClient(
      { ...d, store: d.cacheStore, random: Math.random },
      { lockTtlMs: config.cache.lockTtlMs, waitMs: config.cache.rebuildWaitMs }
    )
    const policy = {
      ttlMs: config.cache.ttlMs,
      nullTtlMs: config.cache.nullTtlMs,
      jitter: config.cache.jitter,
    }
    return new ShopService(
      {
        ...d,
        repo: options.decorate?.shops?.(repo) ?? repo,
        cache,
        store: d.cacheStore,
        bloom: d.bloom ? new BloomFilter(d.cacheStore, shopKeys.bloom, d.bloom) : null,
      },
      {
        shopPolicy: { ...policy, strategy: config.shops.strategy },
        typesPolicy: { ...policy, strategy: 'pass-through' },
      }
    )
  }

  if (options.decorate?.queue) queue = options.decorate.queue(queue)
  const decorateOrders = options.decorate?.orders ?? ((repo: OrderRepository) => repo)
  // Isolate-wide: the hub (one broker subscription) and one stock poller per watched sale. On
  // Workers, per request: with the live hub bound both come from the hub objects.
  const makeLive = (): LiveSeckill => ({
    broadcast: makeBroadcast(),
    stock: makeStockFeed?.() ?? new StockWatch(kv.ledger, clock, STOCK_WATCH_EVERY_MS),
  })
  const live = makeLive()

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
      vouchers: new DrizzleVoucherRepository(db.db),
      orders: decorateOrders(new DrizzleOrderRepository(db.db)),
      blogs: new DrizzleBlogRepository(db.db),
      follows: new DrizzleFollowRepository(db.db),
      profiles: new DrizzleProfileDirectory(db.db),
      shops: shopService({ ...kv, clock, config, db, cacheStore, geo, local, bloom, background }),
      blobs,
      live: platform.subscriptionsPerRequest ? makeLive() : live,
      probes: [...probes, { name: 'database', adapter: db.driver, check: () => db.ping() }],
      background,
      pacer,
      batcher: new OrderBatcher({ queue, clock, pacer, policy: config.seckill }),
    }
    return { ...base, topics: topicsFor(base) }
  }
  if (shared) sharedDeps = build(shared, (work) => void track(work))
  let sharedScope: Scope | undefined

  return {
    config,
    log,
    async scope() {
      if (shared) {
        sharedScope ??= { deps: sharedDeps!, finish: async () => {}, shared: true }
        return sharedScope
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
    async settle() {
      for (;;) {
        await Promise.all(pending)
        await memoryQueue?.idle()
        if (pending.size === 0) return
      }
    },
    async close() {
      await memoryQueue?.close()
      await Promise.all(pending)
      await shared?.close()
      await redisClients?.close()
    },
  }
}

/** What the shop service is built from (see `shopService` in createContainer). */
interface ShopWiring {
  lock: Lock
  ids: Ids
  clock: Clock
  config: AppConfig
  db: DatabaseHandle
  cacheStore: CacheStore
  geo: GeoIndex
  local: LocalCache
  bloom: BloomShape | undefined
  background(work: Promise<unknown>): void
}

/** The login-code sender config.sms names: Aliyun SMS, the signed webhook, or (not in production) the log. */
function createCodeSender(config: AppConfig, log: Logger): CodeSender {
  const sms = config.sms
  if (sms.provider === 'aliyun') return new AliyunSmsSender(sms)
  if (sms.provider === 'webhook') return new WebhookCodeSender(sms)
  return new LogCodeSender((msg, fields) => log.info(msg, fields))
}

/**
 * The request handler of the LIVE_HUB Durable Object (Workers, src/app/live-hub.ts), made with the
 * first request and shared by every client stream of the object (a Durable Object shares one I/O
 * context across its requests): ONE BroadcastHub over Upstash's streaming psubscribe, and ONE
 * StockWatch (one `remaining` read per interval per watched sale) over the stock ledger on Upstash
 * REST, with real timers (the object is active while its viewers' streams are in flight).
 */
export function liveHubHandler(
  env: Record<string, unknown>
): (request: Request) => Promise<Response> {
  let hub: BroadcastHub | undefined
  let stock: StockWatch | undefined
  const redisConfig = () => {
    const config = loadConfig(env)
    if (!config.redis) throw new ConfigError(['the live hub needs UPSTASH_REDIS_REST_*'])
    return { config, redis: config.redis }
  }
  return (request) =>
    serveLiveHub(
      request,
      () => {
        if (hub) return hub
        const { config, redis } = redisConfig()
        hub = upstashBroadcast(createUpstashRedis(redis), redis, config.redisKeyPrefix)
        return hub
      },
      () => {
        if (stock) return stock
        const { config, redis } = redisConfig()
        const clock = new SystemClock()
        const ledger = new UpstashStockLedger(
          createUpstashRedis(redis),
          clock,
          config.redisKeyPrefix,
          config.seckill
        )
        stock = new StockWatch(ledger, clock, STOCK_WATCH_EVERY_MS)
        return stock
      }
    )
}
