import { z } from 'zod'
import type { LoginAbusePolicy } from '../domain/auth/abuse.ts'
import type { AuthPolicy } from '../domain/auth/auth.ts'
import type { CacheStrategy } from '../domain/cache/client.ts'
import type { SeckillPolicy } from '../domain/seckill/seckill.ts'
import { isTimeZone } from '../domain/social/calendar.ts'
import type { SocialPolicy } from '../domain/social/policy.ts'
import { type BrowserSessionConfig, readBrowserSessionConfig } from './browser-config.ts'
import type { LogLevel } from './log.ts'
import { readSmsConfig, type SmsConfig } from './sms-config.ts'

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional()

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** '30m', '90s', '1h', '250ms' or a bare number of ms. */
export function parseDuration(text: string): number | null {
  const m = text.trim().match(/^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/)
  if (!m) return null
  return Math.round(Number(m[1]) * UNITS[m[2] ?? 'ms']!)
}

const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const ms = parseDuration(v)
      if (ms === null || ms <= 0) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration like 30m, 90s or 1500ms' })
        return z.NEVER
      }
      return ms
    })

/** 'off', or comma-separated tiers 'max/window' such as '1/1m,5/5m,10/20m'. */
const tiers = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      if (v.trim() === 'off') return []
      const out: { max: number; windowMs: number }[] = []
      for (const part of v.split(',')) {
        const [max, window] = part.split('/')
        const windowMs = window ? parseDuration(window) : null
        if (!max || !/^\d+$/.test(max.trim()) || !windowMs) {
          ctx.addIssue({
            code: 'custom',
            message: `bad tier "${part}" (expected max/window, e.g. 5/5m)`,
          })
          return z.NEVER
        }
        out.push({ max: Number(max), windowMs })
      }
      return out
    })

const count = (fallback: number) => z.coerce.number().int().min(0).default(fallback)

/** 'off', or a token bucket 'tokens/interval' such as '5/1s' (bucket size = tokens). */
const bucket = (fallback: string) =>
  tiers(fallback).pipe(
    z
      .array(z.object({ max: z.number(), windowMs: z.number() }))
      .max(1, 'expected one bucket, e.g. 5/1s')
      .transform((b) => (b[0] ? { tokens: b[0].max, intervalMs: b[0].windowMs } : null))
  )

const EnvSchema = z.object({
  APP_ENV: z.enum(['production', 'development', 'test']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  PUBLIC_URL: optionalText.pipe(z.url().optional()),
  REDIS_KEY_PREFIX: z.string().default(''),
  REDIS_URL: optionalText,
  REDIS_CLUSTER: z.enum(['0', '1', 'true', 'false']).optional(),
  UPSTASH_REDIS_REST_URL: optionalText.pipe(z.url().optional()),
  UPSTASH_REDIS_REST_TOKEN: optionalText,
  QSTASH_URL: optionalText.pipe(z.url().optional()),
  QSTASH_TOKEN: optionalText,
  QSTASH_CURRENT_SIGNING_KEY: optionalText,
  QSTASH_NEXT_SIGNING_KEY: optionalText,
  DATABASE_URL: optionalText,
  NEON_LOCAL_PROXY: optionalText,
  DATA_DIR: z.string().default('.data'),
  SESSION_TTL: duration('30m'),
  SESSION_RENEW_AFTER: z.coerce.number().min(0).max(1).default(0.5),
  SESSION_MAX_RENEWALS: count(10),
  AUTH_CODE_TTL: duration('2m'),
  AUTH_CODE_SEND_LIMITS: tiers('1/1m,5/5m,10/20m'),
  AUTH_LOGIN_MAX_FAILURES: count(5).pipe(z.number().min(1)),
  AUTH_LOGIN_LOCK: duration('15m'),
  AUTH_CODE_SEND_CLIENT_LIMITS: tiers('5/10m,20/1d'),
  AUTH_CODE_SEND_GLOBAL_LIMITS: tiers('100/1m,2000/1h,10000/1d'),
  AUTH_LOGIN_CLIENT_FAILURES: tiers('10/10m,50/1d'),
  AUTH_LOGIN_GLOBAL_FAILURES: tiers('1000/1m'),
  TRUST_PROXY: count(0).pipe(z.number().max(10)),
  CORS_ORIGINS: optionalText,
  SECKILL_USER_LIMIT: bucket('5/1s'),
  SECKILL_SALE_LIMIT: bucket('10000/1s'),
  /** SECKILL_SALE_LIMIT's former name, still read when SECKILL_SALE_LIMIT is unset. */
  SECKILL_GLOBAL_LIMIT: bucket('10000/1s'),
  SECKILL_PERSIST_RETRIES: count(3),
  SECKILL_PERSIST_BATCH: z.coerce.number().int().min(1).max(1000).optional(),
  SECKILL_RELAY_AFTER: duration('10s'),
  SECKILL_RETENTION: duration('7d'),
  ORDER_PAY_TIMEOUT: duration('15m'),
  RECONCILE_GRACE: duration('60s'),
  APP_TIMEZONE: z
    .string()
    .default('UTC')
    .refine(isTimeZone, 'expected an IANA time zone such as UTC or Asia/Shanghai'),
  FEED_INBOX_MAX: count(1000).pipe(z.number().min(1)),
  FEED_FANOUT_BATCH: count(500).pipe(z.number().min(1).max(5000)),
  UV_TRACKING: z.enum(['on', 'off']).default('on'),
  ADMIN_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  SHOP_CACHE_STRATEGY: z.enum(['logical', 'mutex', 'pass-through']).default('logical'),
  CACHE_TTL: duration('30m'),
  CACHE_NULL_TTL: duration('2m'),
  CACHE_TTL_JITTER: z.coerce.number().min(0).max(1).default(0.1),
  CACHE_REBUILD_WAIT: duration('3s'),
  CACHE_LOCK_TTL: duration('10s'),
  CACHE_L1_TTL: duration('1s'),
  CACHE_L1_MAX_ENTRIES: count(1000),
  SHOP_BLOOM_FILTER: z.enum(['on', 'off']).default('on'),
  BLOOM_EXPECTED_SHOPS: count(100_000).pipe(z.number().min(1)),
  BLOOM_FP_RATE: z.coerce.number().gt(0).lt(1).default(0.01),
  SEED_DEMO_DATA: z.enum(['auto', 'true', 'false']).default('auto'),
  HMDP_COMPAT: z.enum(['on', 'off']).default('on'),
  HMDP_PREFIX: z
    .string()
    .regex(/^(\/[A-Za-z0-9_-]+)*$/, 'expected empty or a path such as /api')
    .default(''),
  UPLOAD_MAX_BYTES: count(2 * 1024 * 1024).pipe(z.number().min(1)),
  LIVE_HUB_SHARDS: count(4).pipe(z.number().min(1).max(64)),
})

export interface AppConfig {
  env: 'production' | 'development' | 'test'
  logLevel: LogLevel
  /** Absolute base URL the queue delivers to (the app's own public origin). */
  publicUrl: string | undefined
  /** Namespace prepended to every Redis key (lets deployments or tests share one Redis). */
  redisKeyPrefix: string
  redis: { url: string; token: string } | undefined
  /**
   * Workers with the LIVE_HUB Durable Object bound: how many hub objects share the live channels
   * (each holds one broker subscription; a channel always maps to the same one).
   */
  liveHubShards: number
  /** REDIS_URL (+ REDIS_CLUSTER): Redis over TCP, preferred where the runtime has TCP (Node). */
  redisTcp: { url: string; cluster: boolean } | undefined
  qstash:
    | { url: string; token: string; currentSigningKey: string; nextSigningKey: string }
    | undefined
  database: { url: string; localProxy: string | undefined } | undefined
  /** Where the embedded (Node, no DATABASE_URL) database persists; ':memory:' keeps it in memory. */
  dataDir: string
  /** Bearer token of the admin API (ADMIN_TOKEN); admin routes answer 403 while unset. */
  adminToken: string | undefined
  auth: AuthPolicy
  /** Per-client and global limits on code sends and failed logins (AUTH_*_CLIENT/GLOBAL_*). */
  loginAbuse: LoginAbusePolicy
  /** How many proxies of ours append to X-Forwarded-For in front of Node (0 = ignore it). */
  trustProxy: number
  /** Origins allowed by CORS (CORS_ORIGINS: comma-separated, or '*'); null = CORS off. */
  cors: string[] | '*' | null
  /** Session cookie and CSRF origins (SESSION_COOKIE, CSRF_ALLOWED_ORIGINS; see browser-config.ts). */
  browser: BrowserSessionConfig
  /** Who delivers login codes (ALIYUN_SMS_* / SMS_WEBHOOK_*; see sms-config.ts). */
  sms: SmsConfig
  /** Blogs, likes, follows, feed, sign-in and UV (APP_TIMEZONE, FEED_*, UV_TRACKING). */
  social: SocialPolicy
  seckill: SeckillPolicy & {
    /** The flash-sale endpoint's token bucket per session (before the sale); null = off. */
    userLimit: { tokens: number; intervalMs: number } | null
    /** Pending reservations younger than this are left to the consumer by reconciliation. */
    reconcileGraceMs: number
  }
  /** The cache toolkit (src/domain/cache): TTLs, jitter, rebuild lock, isolate-local L1. */
  cache: {
    ttlMs: number
    nullTtlMs: number
    /** Fraction of the TTL added at random (0..1) so entries written together expire apart. */
    jitter: number
    /** How long a request waits for another's rebuild before answering 503 LOCK_TIMEOUT. */
    rebuildWaitMs: number
    lockTtlMs: number
    l1TtlMs: number
    /** 0 disables the L1 (and with it the degraded mode). */
    l1MaxEntries: number
  }
  shops: {
    strategy: CacheStrategy
    /** The shop-id Bloom filter's sizing; undefined = no filter. */
    bloom: { expected: number; fpRate: number } | undefined
    /** Seed the demo data set into an empty database on `npm start` (default: in development). */
    seedDemoData: boolean
  }
  /** The original hmdp web pages' API (src/app/routes/hmdp): HMDP_COMPAT, HMDP_PREFIX, UPLOAD_MAX_BYTES. */
  hmdp: { enabled: boolean; prefix: string; uploadMaxBytes: number }
}

export class ConfigError extends Error {
  readonly problems: string[]

  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join('; ')}`)
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Reads the environment (Worker vars/secrets or process.env) into a typed config. Pairs that only
 * work together must be set together; messages name variables, never their values.
 */
export function loadConfig(env: Record<string, unknown>): AppConfig {
  const parsed = EnvSchema.safeParse(env)
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`))
  }
  const e = parsed.data
  const problems: string[] = []
  const both = (a: keyof typeof e, b: keyof typeof e) => {
    if (Boolean(e[a]) !== Boolean(e[b])) problems.push(`${a} and ${b} must be set together`)
    return Boolean(e[a] && e[b])
  }
  const redis = both('UPSTASH_REDIS_REST_URL', 'UPSTASH_REDIS_REST_TOKEN')
  const qstashKeys = both('QSTASH_CURRENT_SIGNING_KEY', 'QSTASH_NEXT_SIGNING_KEY')
  const qstash = Boolean(e.QSTASH_TOKEN)
  if (qstash && !qstashKeys)
    problems.push('QSTASH_TOKEN needs QSTASH_CURRENT_SIGNING_KEY and QSTASH_NEXT_SIGNING_KEY')
  if (qstash && !e.PUBLIC_URL)
    problems.push('QSTASH_TOKEN needs PUBLIC_URL (where QStash delivers)')
  const sms = readSmsConfig(env, e.APP_ENV === 'production')
  const browser = readBrowserSessionConfig(env)
  problems.push(...sms.problems, ...browser.problems)
  const [saleLimit, oldName] = [env.SECKILL_SALE_LIMIT, env.SECKILL_GLOBAL_LIMIT]
  if (saleLimit !== undefined && oldName !== undefined && saleLimit !== oldName)
    problems.push('SECKILL_SALE_LIMIT and SECKILL_GLOBAL_LIMIT (its former name) disagree: set one')
  if (problems.length > 0) throw new ConfigError(problems)
  return {
    browser: browser.browser,
    sms: sms.sms,
    env: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    liveHubShards: e.LIVE_HUB_SHARDS,
    redis: redis
      ? { url: e.UPSTASH_REDIS_REST_URL!, token: e.UPSTASH_REDIS_REST_TOKEN! }
      : undefined,
    redisTcp: e.REDIS_URL
      ? { url: e.REDIS_URL, cluster: e.REDIS_CLUSTER === '1' || e.REDIS_CLUSTER === 'true' }
      : undefined,
    qstash: qstash
      ? {
          url: e.QSTASH_URL ?? 'https://qstash.upstash.io',
          token: e.QSTASH_TOKEN!,
          currentSigningKey: e.QSTASH_CURRENT_SIGNING_KEY!,
          nextSigningKey: e.QSTASH_NEXT_SIGNING_KEY!,
        }
      : undefined,
    database: e.DATABASE_URL ? { url: e.DATABASE_URL, localProxy: e.NEON_LOCAL_PROXY } : undefined,
    dataDir: e.DATA_DIR,
    adminToken: e.ADMIN_TOKEN,
    social: {
      timeZone: e.APP_TIMEZONE,
      feed: {
        inboxMax: e.FEED_INBOX_MAX,
        fanoutBatch: e.FEED_FANOUT_BATCH,
        fanoutBatchesPerMessage: 20,
      },
      uvTracking: e.UV_TRACKING === 'on',
    },
    seckill: {
      userLimit: e.SECKILL_USER_LIMIT,
      saleLimit:
        env.SECKILL_SALE_LIMIT === undefined ? e.SECKILL_GLOBAL_LIMIT : e.SECKILL_SALE_LIMIT,
      persistRetries: e.SECKILL_PERSIST_RETRIES,
      // Embedded (no DATABASE_URL): PGlite runs a group's statement on the request thread, so
      // smaller groups keep each one short.
      persistBatch: e.SECKILL_PERSIST_BATCH ?? (e.DATABASE_URL ? 100 : 20),
      relayAfterMs: e.SECKILL_RELAY_AFTER,
      retentionMs: e.SECKILL_RETENTION,
      payTimeoutMs: e.ORDER_PAY_TIMEOUT,
      reconcileGraceMs: e.RECONCILE_GRACE,
    },
    loginAbuse: {
      codeSendsPerClient: e.AUTH_CODE_SEND_CLIENT_LIMITS,
      codeSendsGlobal: e.AUTH_CODE_SEND_GLOBAL_LIMITS,
      failedLoginsPerClient: e.AUTH_LOGIN_CLIENT_FAILURES,
      failedLoginsGlobal: e.AUTH_LOGIN_GLOBAL_FAILURES,
    },
    trustProxy: e.TRUST_PROXY,
    cors: !e.CORS_ORIGINS
      ? null
      : e.CORS_ORIGINS === '*'
        ? '*'
        : e.CORS_ORIGINS.split(',')
            .map((o) => o.trim().replace(/\/+$/, ''))
            .filter(Boolean),
    auth: {
      codeDigits: 6,
      codeTtlMs: e.AUTH_CODE_TTL,
      sendTiers: e.AUTH_CODE_SEND_LIMITS,
      login: { maxFailures: e.AUTH_LOGIN_MAX_FAILURES, lockMs: e.AUTH_LOGIN_LOCK },
      session: {
        ttlMs: e.SESSION_TTL,
        renewAfterFraction: e.SESSION_RENEW_AFTER,
        maxRenewals: e.SESSION_MAX_RENEWALS,
      },
    },
    cache: {
      ttlMs: e.CACHE_TTL,
      nullTtlMs: e.CACHE_NULL_TTL,
      jitter: e.CACHE_TTL_JITTER,
      rebuildWaitMs: e.CACHE_REBUILD_WAIT,
      lockTtlMs: e.CACHE_LOCK_TTL,
      l1TtlMs: e.CACHE_L1_TTL,
      l1MaxEntries: e.CACHE_L1_MAX_ENTRIES,
    },
    shops: {
      strategy: e.SHOP_CACHE_STRATEGY,
      bloom:
        e.SHOP_BLOOM_FILTER === 'on'
          ? { expected: e.BLOOM_EXPECTED_SHOPS, fpRate: e.BLOOM_FP_RATE }
          : undefined,
      seedDemoData:
        e.SEED_DEMO_DATA === 'auto' ? e.APP_ENV === 'development' : e.SEED_DEMO_DATA === 'true',
    },
    hmdp: {
      enabled: e.HMDP_COMPAT === 'on',
      prefix: e.HMDP_PREFIX,
      uploadMaxBytes: e.UPLOAD_MAX_BYTES,
    },
  }
}
