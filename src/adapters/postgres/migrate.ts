import { fileURLToPath } from 'node:url'
import { sql } from 'drizzle-orm'
import type { NeonDatabase } from 'drizzle-orm/neon-serverless'
import { migrate as migrateNeon } from 'drizzle-orm/neon-serverless/migrator'
import type { PgliteDatabase } from 'drizzle-orm/pglite'
import { isMainModule } from '../system/main-module.ts'
import { createDatabase, type DatabaseConfig, type DatabaseHandle, type Schema } from './db.ts'

/** The drizzle-kit output folder (SQL files + meta/_journal.json). Node only: read with node:fs. */
export const MIGRATIONS_FOLDER = fileURLToPath(new URL('./migrations', import.meta.url))

/** Key of the advisory lock held while migrating (any constant int8: 'seckmigr'). */
export const MIGRATION_LOCK_KEY = 0x7365636b_6d696772n

/**
 * Applies every pending migration from MIGRATIONS_FOLDER in one transaction, recording them in
 * drizzle.__drizzle_migrations (the same table `drizzle-kit migrate` uses, so the two mix).
 * Node only: the migrator reads the folder from disk, so a Worker never calls this.
 *
 * Many processes may start on one database at once (node:cluster workers, several replicas, a
 * deploy overlapping the old one), and drizzle's migrator alone is not safe for that: each reads
 * "nothing applied yet" and runs the same CREATEs, and all but one fail. So on Postgres the
 * migration runs while a transaction on a connection of its own holds a transaction-level
 * advisory lock (`pg_advisory_xact_lock`): the others wait for it, then find nothing pending. A
 * transaction-level lock, unlike a session one, also holds behind a transaction-mode pooler (Neon's
 * `-pooler` endpoints, PgBouncer), and is released when that connection dies. The pool must have
 * 2 connections or more (the default is 10). PGlite is one process's own database: no lock.
 */
export async function migrateDatabase(handle: DatabaseHandle): Promise<void> {
  const config = { migrationsFolder: MIGRATIONS_FOLDER }
  if (handle.driver === 'pglite') {
    const { migrate } = await import('drizzle-orm/pglite/migrator')
    // createDatabase built this handle's db with drizzle-orm/pglite; `driver` says so.
    await migrate(handle.db as PgliteDatabase<Schema>, config)
    return
  }
  await handle.db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`)
    await migrateNeon(handle.db as NeonDatabase<Schema>, config)
  })
}

const USAGE = `usage: node src/adapters/postgres/migrate.ts [--pglite <dir>]
  default: migrates DATABASE_URL through the neon-serverless driver; set NEON_LOCAL_PROXY
  ('127.0.0.1:<port>' of the stand-in WebSocket proxy) when DATABASE_URL is a local Postgres.
  --pglite <dir>: migrates the PGlite database persisted in <dir>.`

/** CLI config from argv/env; throws with a hint when a local URL has no proxy to go through. */
export function cliConfig(argv: string[], env: Record<string, string | undefined>): DatabaseConfig {
  const flag = argv.indexOf('--pglite')
  if (flag !== -1) {
    const dataDir = argv[flag + 1]
    if (!dataDir) throw new Error(USAGE)
    return { driver: 'pglite', dataDir }
  }
  const url = env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const localProxy = env.NEON_LOCAL_PROXY || undefined
  const host = new URL(url).hostname
  if (!localProxy && /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])$/.test(host)) {
    throw new Error(
      `${host} is a local Postgres: the Neon driver needs NEON_LOCAL_PROXY to reach it ` +
        '(or use `drizzle-kit migrate`, which connects over TCP).'
    )
  }
  return { driver: 'neon-serverless', url, localProxy }
}

if (isMainModule(import.meta)) {
  try {
    const config = cliConfig(process.argv.slice(2), process.env)
    const handle = await createDatabase(config)
    try {
      await migrateDatabase(handle)
    } finally {
      await handle.close()
    }
    console.log(`migrations applied (${config.driver})`)
  } catch (e) {
    console.error((e as Error).message)
    process.exitCode = 1
  }
}
