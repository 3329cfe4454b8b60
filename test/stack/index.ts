import { randomBytes } from 'node:crypto'
import { type NeonProxy, type NeonProxyOptions, startNeonProxy } from './neon-proxy.ts'
import { type QStashServer, type QStashServerOptions, startQStashServer } from './qstash-server.ts'
import { startUpstashGateway, type UpstashGateway } from './upstash-gateway.ts'

export interface LocalStackOptions {
  /** Real Redis behind the Upstash gateway. */
  redisUrl: string
  /** Postgres connection string the app uses (through the Neon proxy). */
  databaseUrl: string
  /** Fixed ports (npm run stack); ephemeral by default. */
  ports?: { redis?: number; qstash?: number; neon?: number }
  /** The gateway's token (random by default; the QStash ones go in `qstash`). */
  redisToken?: string
  qstash?: QStashServerOptions
  /** E.g. `{ clock }` so `neon.faults.refuse({ forMs })` runs on the test's ManualClock. */
  neon?: Omit<NeonProxyOptions, 'port'>
}

export interface LocalStack {
  gateway: UpstashGateway
  qstash: QStashServer
  neon: NeonProxy
  /** The app's standard environment variables pointing at the stand-ins (add PUBLIC_URL). */
  env: Record<string, string>
  close(): Promise<void>
}

/**
 * Starts the three local stand-ins for the cloud endpoints: the Upstash REST gateway over Redis,
 * the QStash server, and the Neon WebSocket proxy to Postgres.
 */
export async function startLocalStack(opts: LocalStackOptions): Promise<LocalStack> {
  const gateway = await startUpstashGateway({
    redisUrl: opts.redisUrl,
    token: opts.redisToken ?? randomBytes(24).toString('base64url'),
    port: opts.ports?.redis,
  })
  const qstash = await startQStashServer({ port: opts.ports?.qstash, ...opts.qstash })
  const neon = await startNeonProxy({ ...opts.neon, port: opts.ports?.neon })
  return {
    gateway,
    qstash,
    neon,
    env: {
      UPSTASH_REDIS_REST_URL: gateway.url,
      UPSTASH_REDIS_REST_TOKEN: gateway.token,
      QSTASH_URL: qstash.url,
      QSTASH_TOKEN: qstash.token,
      QSTASH_CURRENT_SIGNING_KEY: qstash.currentSigningKey,
      QSTASH_NEXT_SIGNING_KEY: qstash.nextSigningKey,
      DATABASE_URL: opts.databaseUrl,
      NEON_LOCAL_PROXY: neon.address,
    },
    async close() {
      await Promise.allSettled([gateway.close(), qstash.close(), neon.close()])
    },
  }
}
