/**
 * The workerd suite's stack, in a process of its own (`node test/workerd/stack-process.ts`, the plan
 * as JSON on stdin): a database cloned from the migrated template with the demo shops, the three
 * stand-ins on the planned ports (the Worker's bindings point there) and the control server.
 * Prints `ready` once serving; on SIGTERM removes the database and the Redis keys, then exits.
 * A process rather than globalSetup code: the workerd project resolves modules with the Workers
 * conditions, under which `ws` and `redis` load their browser builds.
 */
import { text } from 'node:stream/consumers'
import pg from 'pg'
import { createDatabase } from '../../src/adapters/postgres/db.ts'
import { seedDemoShops } from '../../src/adapters/postgres/seed.ts'
import { ident, prepareTemplateDatabase } from '../harness/db-admin.ts'
import { deleteByPrefix, directRedis } from '../harness/redis.ts'
import { ADMIN_DATABASE_URL, REDIS_URL } from '../harness/services.ts'
import { startLocalStack } from '../stack/index.ts'
import { startControlServer } from './control.ts'
import type { WorkerdPlan } from './plan.ts'

async function admin(sql: string) {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
  await client.connect()
  try {
    await client.query(sql)
  } finally {
    await client.end()
  }
}

const plan = JSON.parse(await text(process.stdin)) as WorkerdPlan
const databaseUrl = plan.bindings.DATABASE_URL!
const template = await prepareTemplateDatabase(ADMIN_DATABASE_URL)
await admin(`create database ${ident(plan.database)} template ${ident(template)}`)
const stack = await startLocalStack({
  redisUrl: REDIS_URL,
  databaseUrl,
  ports: plan.ports,
  redisToken: plan.redisToken,
  qstash: plan.qstash,
})
const db = await createDatabase({
  driver: 'neon-serverless',
  url: databaseUrl,
  localProxy: stack.neon.address,
})
try {
  await seedDemoShops(db.db)
} finally {
  await db.close()
}
const control = await startControlServer({
  qstash: stack.qstash,
  gateway: stack.gateway,
  databaseUrl,
  port: plan.ports.control,
})

process.once('SIGTERM', async () => {
  await control.close()
  await stack.close()
  await admin(`drop database if exists ${ident(plan.database)} with (force)`)
  const redis = await directRedis()
  await deleteByPrefix(redis, plan.prefix)
  await redis.quit()
  process.exit(0)
})
console.log('ready')
