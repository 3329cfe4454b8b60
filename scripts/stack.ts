/**
 * `npm run stack`: starts the local stand-ins for the cloud endpoints against the local Redis and
 * PostgreSQL, migrates the app's database through the Neon driver, and prints the standard
 * environment variables. Then `npm start` (Node) or `npm run dev` (wrangler) with those variables
 * runs the app on the real adapters: Upstash REST → Redis, QStash → HTTP deliveries, Neon → Postgres.
 *
 * Flags: --tcp writes the Node TCP configuration instead (REDIS_URL, DATABASE_URL over TCP, QStash
 *        stand-in); --cluster also starts a 3-master Redis Cluster from the installed redis-server
 *        (ephemeral ports) and points REDIS_URL at it.
 *
 * Env: REDIS_URL (redis://127.0.0.1:6379), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres),
 *      STACK_DB (edge_seckill), APP_PORT (3000: where QStash delivers, PUBLIC_URL),
 *      GATEWAY_PORT (8079), QSTASH_PORT (8080), NEON_PROXY_PORT (8432), SMS_PORT (8081: the Aliyun
 *      SMS stand-in; delivered login codes are printed here, so production mode can log in).
 */
import { writeFile } from 'node:fs/promises'
import pg from 'pg'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { startLocalStack } from '../test/stack/index.ts'
import { startRedisCluster } from '../test/stack/redis-cluster.ts'
import { startSmsStandIn } from '../test/stack/sms-provider.ts'

const env = process.env
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const adminUrl = env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const dbName = env.STACK_DB ?? 'edge_seckill'
const appPort = Number(env.APP_PORT ?? 3000)

async function ensureDatabase(): Promise<string> {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    const found = await admin.query('select 1 from pg_database where datname = $1', [dbName])
    if (found.rowCount === 0) await admin.query(`create database "${dbName.replaceAll('"', '""')}"`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${dbName}`
  return url.toString()
}

const databaseUrl = await ensureDatabase()
const stack = await startLocalStack({
  redisUrl,
  databaseUrl,
  ports: {
    redis: Number(env.GATEWAY_PORT ?? 8079),
    qstash: Number(env.QSTASH_PORT ?? 8080),
    neon: Number(env.NEON_PROXY_PORT ?? 8432),
  },
})

const sms = await startSmsStandIn({
  port: Number(env.SMS_PORT ?? 8081),
  onMessage: (m) => console.log(`SMS to ${m.phone}: login code ${m.code}`),
})

const db = await createDatabase({
  driver: 'neon-serverless',
  url: databaseUrl,
  localProxy: stack.neon.address,
})
await migrateDatabase(db)
await db.close()

const cluster = process.argv.includes('--cluster') ? await startRedisCluster() : undefined
const tcp = cluster !== undefined || process.argv.includes('--tcp')
let vars: Record<string, string> = {
  ...stack.env,
  ...sms.env('aliyun'),
  PUBLIC_URL: `http://127.0.0.1:${appPort}`,
}
if (tcp) {
  const { UPSTASH_REDIS_REST_URL, UPSTASH_REDIS_REST_TOKEN, NEON_LOCAL_PROXY, ...rest } = vars
  vars = { ...rest, REDIS_URL: cluster?.url ?? redisUrl }
}
const lines = Object.entries(vars).map(([k, v]) => `${k}=${v}`)
await writeFile('.stack.env', `${lines.join('\n')}\n`)
console.log(`Local stack is up (Redis ${cluster ? `cluster ${cluster.url}` : redisUrl}, Postgres database "${dbName}", migrated).

${lines.map((l) => `export ${l}`).join('\n')}

Written to .stack.env. Run the app on it:
  node --env-file=.stack.env src/app/node.ts      (Node, PUBLIC_URL port ${appPort})
  cp .stack.env .dev.vars && npm run dev           (wrangler; set PUBLIC_URL to the dev port)
Login codes sent through the Aliyun SMS stand-in are printed below. Ctrl-C stops the stand-ins.`)

const stop = async () => {
  await Promise.all([stack.close(), sms.close()])
  await cluster?.stop()
  process.exit(0)
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
