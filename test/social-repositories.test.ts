import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, inject } from 'vitest'
import { DrizzleBlogRepository } from '../src/adapters/postgres/blog-repository.ts'
import { createDatabase, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { DrizzleFollowRepository } from '../src/adapters/postgres/follow-repository.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { DrizzleProfileDirectory } from '../src/adapters/postgres/profile-directory.ts'
import { shops, shopTypes } from '../src/adapters/postgres/schema.ts'
import { DrizzleUserRepository } from '../src/adapters/postgres/user-repository.ts'
import {
  type SocialRepositoryHarness,
  socialRepositoriesContract,
} from './contracts/social-repositories.contract.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'

let phoneSeq = 0
const phone = () =>
  `+1555${String(process.pid % 1000).padStart(3, '0')}${String(phoneSeq++).padStart(4, '0')}`

/** The repositories over `handle`, with user and shop fixtures written through drizzle. */
export function socialHarness(handle: DatabaseHandle, close: () => Promise<void>) {
  const db = handle.db
  const users = new DrizzleUserRepository(db)
  return {
    blogs: new DrizzleBlogRepository(db),
    follows: new DrizzleFollowRepository(db),
    profiles: new DrizzleProfileDirectory(db),
    async user(nickname = 'someone') {
      return (await users.findOrCreateByPhone(phone(), nickname)).user.id
    },
    async shop() {
      const [type] = await db
        .insert(shopTypes)
        .values({ name: `type-${crypto.randomUUID().slice(0, 8)}` })
        .returning({ id: shopTypes.id })
      const [shop] = await db
        .insert(shops)
        .values({ name: 'Noodle bar', typeId: type!.id, address: 'Main St 1', lng: 120, lat: 30 })
        .returning({ id: shops.id })
      return shop!.id.toString()
    },
    async likeRows(blogId: string) {
      const { rows } = await db.execute<{ n: number }>(
        sql`select count(*)::int as n from blog_likes where blog_id = ${blogId}::bigint`
      )
      return Number(rows[0]?.n)
    },
    async followRows(followerId: string, followeeId: string) {
      const { rows } = await db.execute<{ n: number }>(
        sql`select count(*)::int as n from follows
            where follower_id = ${followerId}::bigint and followee_id = ${followeeId}::bigint`
      )
      return Number(rows[0]?.n)
    },
    dispose: close,
  } satisfies SocialRepositoryHarness
}

socialRepositoriesContract('drizzle + pglite (in-memory)', async () => {
  const handle = await createDatabase({ driver: 'pglite' })
  await migrateDatabase(handle)
  return socialHarness(handle, () => handle.close())
})

describe.skipIf(!inject('services').postgres)('on Postgres through the Neon driver', () => {
  let testDb: TestDatabase
  let proxy: NeonProxy
  beforeAll(async () => {
    testDb = await createTestDatabase()
    proxy = await startNeonProxy()
  })
  afterAll(async () => {
    await proxy?.close()
    await testDb?.drop()
  })

  socialRepositoriesContract('drizzle + node-postgres (TCP → Postgres)', async () => {
    const handle = await createDatabase({ driver: 'node-postgres', url: testDb.url })
    return socialHarness(handle, () => handle.close())
  })

  socialRepositoriesContract('drizzle + neon-serverless (proxy → Postgres)', async () => {
    const handle = await createDatabase({
      driver: 'neon-serverless',
      url: testDb.url,
      localProxy: proxy.address,
    })
    return socialHarness(handle, () => handle.close())
  })
})
