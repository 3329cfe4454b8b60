/**
 * The workerd suite's stack, decided when vitest loads its config (before globalSetup runs): the
 * ports, secrets, database name and Redis prefix. The Worker's bindings are fixed when the plugin
 * starts workerd, so they must be known up front; globalSetup then starts the stand-ins exactly
 * there. Node only (runs in vitest's main process).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { databaseUrl, TEST_DB_PREFIX } from '../harness/db-admin.ts'
import { LOGIN_ABUSE_OFF } from '../harness/flows.ts'
import { freePort } from '../harness/net.ts'
import { ADMIN_DATABASE_URL } from '../harness/services.ts'

export interface WorkerdPlan {
  /** Where the Worker listens (a direct socket into workerd; QStash delivers here). */
  workerUrl: string
  /** The stack-control server of globalSetup (see control.ts). */
  controlUrl: string
  ports: { redis: number; qstash: number; neon: number; control: number }
  redisToken: string
  qstash: { token: string; currentSigningKey: string; nextSigningKey: string }
  database: string
  prefix: string
  adminToken: string
  /** The Worker's vars and secrets. */
  bindings: Record<string, string>
}

declare module 'vitest' {
  export interface ProvidedContext {
    workerd: WorkerdPlan
    /** Set by globalSetup: false when the stack could not start (no Redis/Postgres). */
    workerdReady: boolean
  }
}

const secret = (prefix = '') => `${prefix}${randomBytes(18).toString('base64url')}`

export async function planWorkerdStack(): Promise<WorkerdPlan> {
  const [worker, redis, qstash, neon, control] = await Promise.all(
    Array.from({ length: 5 }, () => freePort())
  )
  const plan = {
    workerUrl: `http://127.0.0.1:${worker}`,
    controlUrl: `http://127.0.0.1:${control}`,
    ports: { redis: redis!, qstash: qstash!, neon: neon!, control: control! },
    redisToken: secret(),
    qstash: { token: secret(), currentSigningKey: secret('sig_'), nextSigningKey: secret('sig_') },
    database: `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_${randomUUID().slice(0, 8)}`,
    prefix: `test:workerd:${randomUUID().slice(0, 8)}:`,
    adminToken: secret('admin-'),
  }
  return {
    ...plan,
    bindings: {
      APP_ENV: 'test',
      ...LOGIN_ABUSE_OFF,
      LOG_LEVEL: 'warn',
      PUBLIC_URL: plan.workerUrl,
      REDIS_KEY_PREFIX: plan.prefix,
      UPSTASH_REDIS_REST_URL: `http://127.0.0.1:${redis}`,
      UPSTASH_REDIS_REST_TOKEN: plan.redisToken,
      QSTASH_URL: `http://127.0.0.1:${qstash}`,
      QSTASH_TOKEN: plan.qstash.token,
      QSTASH_CURRENT_SIGNING_KEY: plan.qstash.currentSigningKey,
      QSTASH_NEXT_SIGNING_KEY: plan.qstash.nextSigningKey,
      DATABASE_URL: databaseUrl(ADMIN_DATABASE_URL, plan.database),
      NEON_LOCAL_PROXY: `127.0.0.1:${neon}`,
      ADMIN_TOKEN: plan.adminToken,
      SECKILL_USER_LIMIT: 'off',
      SECKILL_GLOBAL_LIMIT: 'off',
      RECONCILE_GRACE: '1ms',
      LIVE_HUB_SHARDS: '4', // the live hub objects (one broker subscription each, at most)
    },
  }
}
