import type { Logger } from 'drizzle-orm'
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite'
import { afterAll, beforeAll, describe, inject } from 'vitest'
import { createDatabase, type Database, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import * as schema from '../src/adapters/postgres/schema.ts'
import { shops, shopTypes, users } from '../src/adapters/postgres/schema.ts'
import {
  DrizzleOrderRepository,
  DrizzleVoucherRepository,
} from '../src/adapters/postgres/seckill-repository.ts'
import {
  type OrderRepoHarness,
  orderRepositoryContract,
} from './contracts/order-repository.contract.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'

/** The handle's own client (pool or PGlite) under a second drizzle that counts its statements. */
function counted(handle: DatabaseHandle): { db: Database; statements: () => number } {
  let n = 0
  const logger: Logger = { logQuery: () => void n++ }
  const client = (handle.db as unknown as { $client: never }).$client
  const db = {
    pglite: () => drizzlePglite({ client, schema, logger }),
    'neon-serverless': () => drizzleNeon({ client, schema, logger }),
    'node-postgres': () => drizzleNodePg({ client, schema, logger }),
  }[handle.driver]() as unknown as Database
  return { db, statements: () => n }
}

/** One shop and eight users to hang vouchers and orders on. */
async function fixtures(handle: DatabaseHandle): Promise<OrderRepoHarness> {
  const db = handle.db
  const [type] = await db
    .insert(shopTypes)
    .values({ name: `t-${crypto.randomUUID().slice(0, 12)}` })
    .returning()
  const [shop] = await db
    .insert(shops)
    .values({ name: 's', typeId: type!.id, address: 'a', lng: 120, lat: 30 })
    .returning()
  const people = await db
    .insert(users)
    .values(
      Array.from({ length: 8 }, () => ({
        phone: `+1${Math.random().toString().slice(2, 12)}`,
        nickname: 'u',
      }))
    )
    .returning()
  const { db: countedDb, statements } = counted(handle)
  return {
    vouchers: new DrizzleVoucherRepository(db),
    orders: new DrizzleOrderRepository(countedDb),
    statements,
    shopId: shop!.id.toString(),
    userIds: people.map((p) => p.id.toString()),
  }
}

describe('on PGlite', () => {
  let handle: DatabaseHandle
  beforeAll(async () => {
    handle = await createDatabase({ driver: 'pglite' })
    await migrateDatabase(handle)
  })
  afterAll(() => handle.close())
  orderRepositoryContract('pglite', () => fixtures(handle))
})

describe.skipIf(!inject('services').postgres)(
  'on Postgres through the Neon driver and proxy',
  () => {
    let db: TestDatabase
    let proxy: NeonProxy
    let handle: DatabaseHandle
    beforeAll(async () => {
      db = await createTestDatabase()
      proxy = await startNeonProxy()
      handle = await createDatabase({
        driver: 'neon-serverless',
        url: db.url,
        localProxy: proxy.address,
      })
    })
    afterAll(async () => {
      await handle.close()
      await proxy.close()
      await db.drop()
    })
    orderRepositoryContract('neon', () => fixtures(handle))
  }
)

describe.skipIf(!inject('services').postgres)('on Postgres over TCP (pg Pool)', () => {
  let db: TestDatabase
  let handle: DatabaseHandle
  beforeAll(async () => {
    db = await createTestDatabase()
    handle = await createDatabase({ driver: 'node-postgres', url: db.url })
  })
  afterAll(async () => {
    await handle?.close()
    await db?.drop()
  })
  orderRepositoryContract('node-postgres', () => fixtures(handle))
})
