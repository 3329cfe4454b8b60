import pg from 'pg'
import { inject } from 'vitest'
import { databaseUrl, ident, TEST_DB_PREFIX } from './db-admin.ts'
import { ADMIN_DATABASE_URL } from './services.ts'

export interface TestDatabase {
  /** Database name (unique per call). */
  name: string
  /** Connection URL of this database (same server and role as ADMIN_DATABASE_URL). */
  url: string
  /** Cuts any connection still open to it and drops it. Idempotent. */
  drop(): Promise<void>
}

/**
 * A fresh, fully migrated database cloned from the run's template (prepared in globalSetup). Call
 * it in a test file's beforeAll and `drop()` in afterAll. Throws when Postgres is unavailable:
 * guard the suite with `describe.skipIf(!inject('services').postgres)`.
 */
export async function createTestDatabase(options: { empty?: boolean } = {}): Promise<TestDatabase> {
  const template = inject('services').templateDatabase
  if (!template) throw new Error('no template database: PostgreSQL is unavailable in this run')
  const name = `${TEST_DB_PREFIX}${Math.floor(Date.now() / 1000)}_${crypto.randomUUID().slice(0, 8)}`
  // empty: no schema at all (not even drizzle's migrations table), as a new deployment finds it.
  const from = options.empty ? 'template0' : template
  await admin((client) => client.query(`create database ${ident(name)} template ${ident(from)}`))
  let dropped: Promise<void> | undefined
  return {
    name,
    url: databaseUrl(ADMIN_DATABASE_URL, name),
    drop() {
      dropped ??= admin(async (client) => {
        await client.query(`drop database if exists ${ident(name)} with (force)`)
      })
      return dropped
    },
  }
}

async function admin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL })
  await client.connect()
  try {
    return await work(client)
  } finally {
    await client.end()
  }
}
