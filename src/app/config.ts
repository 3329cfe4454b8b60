import { z } from 'zod'
import type { LogLevel } from './log.ts'

const optionalText = z
  .string()
  .trim()
  .transform((v) => (v === '' ? undefined : v))
  .optional()

const EnvSchema = z.object({
  APP_ENV: z.enum(['production', 'development', 'test']).default('development'),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('info'),
  PUBLIC_URL: optionalText.pipe(z.url().optional()),
  REDIS_KEY_PREFIX: z.string().default(''),
  UPSTASH_REDIS_REST_URL: optionalText.pipe(z.url().optional()),
  UPSTASH_REDIS_REST_TOKEN: optionalText,
  QSTASH_URL: optionalText.pipe(z.url().optional()),
  QSTASH_TOKEN: optionalText,
  QSTASH_CURRENT_SIGNING_KEY: optionalText,
  QSTASH_NEXT_SIGNING_KEY: optionalText,
  DATABASE_URL: optionalText,
  NEON_LOCAL_PROXY: optionalText,
  DATA_DIR: z.string().default('.data'),
  ADMIN_TOKEN: optionalText.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
})

export interface AppConfig {
  env: 'production' | 'development' | 'test'
  logLevel: LogLevel
  /** Absolute base URL the queue delivers to (the app's own public origin). */
  publicUrl: string | undefined
  /** Namespace prepended to every Redis key (lets deployments or tests share one Redis). */
  redisKeyPrefix: string
  redis: { url: string; token: string } | undefined
  qstash:
    | { url: string; token: string; currentSigningKey: string; nextSigningKey: string }
    | undefined
  database: { url: string; localProxy: string | undefined } | undefined
  /** Where the embedded (Node, no DATABASE_URL) database persists; ':memory:' keeps it in memory. */
  dataDir: string
  /** Bearer token of the admin API (ADMIN_TOKEN); admin routes answer 403 while unset. */
  adminToken: string | undefined
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
  if (problems.length > 0) throw new ConfigError(problems)
  return {
    env: e.APP_ENV,
    logLevel: e.LOG_LEVEL,
    publicUrl: e.PUBLIC_URL?.replace(/\/+$/, ''),
    redisKeyPrefix: e.REDIS_KEY_PREFIX,
    redis: redis
      ? { url: e.UPSTASH_REDIS_REST_URL!, token: e.UPSTASH_REDIS_REST_TOKEN! }
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
  }
}
