import { createHash } from 'node:crypto'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { drizzle } from 'drizzle-orm/node-postgres'
import { migrate } from 'drizzle-orm/node-postgres/migrator'
import pg from 'pg'
import { MIGRATIONS_FOLDER } from '../../src/adapters/postgres/migrate.ts'

/** Every template is named `${TEMPLATE_PREFIX}<hash of the migrations folder>`. */
export const TEMPLATE_PREFIX = 'edge_tmpl_'
/** Test databases are named `${TEST_DB_PREFIX}<unix seconds>_<random>` (see db.ts). */
export const TEST_DB_PREFIX = 'edge_test_'
/** Serialises template preparation across concurrent vitest processes (any constant int8). */
const ADVISORY_LOCK_KEY = 0x65646765_746d706cn // 'edgetmpl'
/** Older templates and leaked test databases are dropped only after this long. */
const STALE_AFTER_MS = 24 * 60 * 60 * 1000

/**
 * Makes sure a migrated template database for the current migrations exists and returns its name
 * (for `CREATE DATABASE … TEMPLATE`). Runs in vitest globalSetup.
 *
 * The name carries a hash of the migration files, so a schema change gets a new template. It is
 * built under a temporary name, migrated, closed to connections and only then renamed, so its
 * name existing means it is complete; a Postgres advisory lock on the admin connection keeps two
 * vitest processes from building it at once (and is freed if a process dies).
 */
export async function prepareTemplateDatabase(adminUrl: string): Promise<string> {
  const name = `${TEMPLATE_PREFIX}${await migrationsHash()}`
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 5000 })
  await admin.connect()
  try {
    await admin.query('select pg_advisory_lock($1)', [ADVISORY_LOCK_KEY.toString()])
    if (!(await exists(admin, name))) await buildTemplate(admin, adminUrl, name)
    await dropStale(admin, name)
    return name
  } finally {
    await admin.end()
  }
}

async function buildTemplate(admin: pg.Client, adminUrl: string, name: string): Promise<void> {
  const building = `${name}_building_${process.pid}`
  await admin.query(`drop database if exists ${ident(building)} with (force)`)
  await admin.query(`create database ${ident(building)}`)
  try {
    const client = new pg.Client({ connectionString: databaseUrl(adminUrl, building) })
    await client.connect()
    try {
      await migrate(drizzle({ client }), { migrationsFolder: MIGRATIONS_FOLDER })
    } finally {
      await client.end()
    }
    // No connection may ever be open on a template, or CREATE DATABASE … TEMPLATE fails.
    await admin.query(
      `alter database ${ident(building)} with is_template true allow_connections false`
    )
    await admin.query(`comment on database ${ident(building)} is '${Date.now()}'`)
    await admin.query(`alter database ${ident(building)} rename to ${ident(name)}`)
  } catch (e) {
    await dropDatabase(admin, building).catch(() => {})
    throw e
  }
}

/** Drops templates of other migration hashes and leaked test databases, once they are old. */
async function dropStale(admin: pg.Client, current: string): Promise<void> {
  const { rows } = await admin.query<{ datname: string; comment: string | null }>(
    `select datname, shobj_description(oid, 'pg_database') as comment from pg_database
      where datname like $1 or datname like $2`,
    [`${TEMPLATE_PREFIX}%`, `${TEST_DB_PREFIX}%`]
  )
  const now = Date.now()
  for (const { datname, comment } of rows) {
    if (datname === current) continue
    const testCreated = datname.startsWith(TEST_DB_PREFIX)
      ? Number(datname.slice(TEST_DB_PREFIX.length).split('_')[0]) * 1000
      : Number(comment)
    if (!Number.isFinite(testCreated) || now - testCreated < STALE_AFTER_MS) continue
    // Someone may be cloning it right now: then it stays for the next run.
    await dropDatabase(admin, datname).catch(() => {})
  }
}

async function dropDatabase(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`alter database ${ident(name)} with is_template false`)
  await admin.query(`drop database if exists ${ident(name)} with (force)`)
}

async function exists(admin: pg.Client, name: string): Promise<boolean> {
  const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name])
  return rowCount === 1
}

/** sha256 over every file in the migrations folder (paths and contents), first 12 hex digits. */
export async function migrationsHash(): Promise<string> {
  const files = (await readdir(MIGRATIONS_FOLDER, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort()
  const hash = createHash('sha256')
  for (const file of files) {
    hash.update(`${relative(MIGRATIONS_FOLDER, file)}\0`)
    hash.update(await readFile(file))
    hash.update('\0')
  }
  return hash.digest('hex').slice(0, 12)
}

/** `url` with its database name replaced. */
export function databaseUrl(url: string, database: string): string {
  const parsed = new URL(url)
  parsed.pathname = `/${encodeURIComponent(database)}`
  return parsed.toString()
}

/** Quotes an identifier (names here are generated, but quote anyway). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}
