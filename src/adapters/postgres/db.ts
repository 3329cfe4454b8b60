import { Client, type ClientConfig, Pool, type PoolClient } from '@neondatabase/serverless'
import { sql } from 'drizzle-orm'
import { drizzle as drizzleNeon } from 'drizzle-orm/neon-serverless'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import * as schema from './schema.ts'

export type Schema = typeof schema

/** What `db.execute()` resolves to on every driver here: at least the rows, as objects. */
export interface RowsResultHKT extends PgQueryResultHKT {
  type: RowsResult<this['row']>
}
type RowsResult<Row> = { rows: Row[] }

/** The drizzle database every repository takes; the same type whichever driver is behind it. */
export type Database = PgDatabase<RowsResultHKT, Schema>

export type DatabaseConfig =
  | {
      driver: 'neon-serverless'
      /** postgres://user:pass@host:port/db — Neon's, or a local Postgres behind `localProxy`. */
      url: string
      /**
       * '127.0.0.1:port' of the local stand-in for Neon's WebSocket endpoint. When set: ws:// (no
       * TLS), pipelineConnect=false (scram/trust auth), and wsProxy pointed at it.
       */
      localProxy?: string
      /** Pool size (default 10). */
      max?: number
    }
  | {
      driver: 'node-postgres'
      /** postgres://user:pass@host:port/db — any Postgres over TCP (Node, Bun, Deno). */
      url: string
      /** Pool size (default 10). */
      max?: number
    }
  | {
      driver: 'pglite'
      /** Directory to persist into (e.g. '.data/pglite'); undefined = in-memory. */
      dataDir?: string
    }

export interface DatabaseHandle {
  readonly db: Database
  readonly driver: DatabaseConfig['driver']
  /** SELECT 1; throws when the database is unreachable. */
  ping(): Promise<void>
  /** Releases every connection (or the PGlite instance). Idempotent. */
  close(): Promise<void>
}

/**
 * Opens a database. Lifetimes differ by runtime:
 * - Cloudflare Workers: a WebSocket cannot outlive its request, so the composition root creates one
 *   handle per request and ends it with `ctx.waitUntil(handle.close())`. Never cache it globally.
 * - Node: one long-lived handle for the process, closed on shutdown.
 *
 * 'neon-serverless' is drizzle over a `@neondatabase/serverless` Pool (Postgres wire protocol over
 * WebSocket; interactive transactions work). 'node-postgres' is drizzle over a `pg` Pool: plain TCP
 * to any Postgres (Neon's too, with `sslmode=require`), no WebSocket proxy; Node only, imported
 * lazily like PGlite. 'pglite' is in-process WASM Postgres for tests and
 * offline dev; it is imported lazily, so a Workers bundle that never selects it does not load it.
 */
export async function createDatabase(config: DatabaseConfig): Promise<DatabaseHandle> {
  switch (config.driver) {
    case 'neon-serverless':
      return openNeon(config.url, config.localProxy, config.max)
    case 'node-postgres':
      return openNodePostgres(config.url, config.max)
    case 'pglite':
      return openPglite(config.dataDir)
  }
}

function openNeon(url: string, localProxy: string | undefined, max = 10): DatabaseHandle {
  const pool = localProxy
    ? new LocalProxyPool(localProxy, url, max)
    : new Pool({ connectionString: url, max })
  // An idle pooled connection that the server drops must not become an unhandled 'error' event.
  pool.on('error', () => {})
  const reapDead = releaseDeadClients(pool)
  const db: Database = drizzleNeon({ client: pool, schema })
  return handle(db, 'neon-serverless', () => {
    const ended = pool.end()
    reapDead()
    return ended
  })
}

/**
 * drizzle's neon-serverless `transaction()` runs BEGIN before its try/finally, so when the
 * connection dies right then it never releases the pooled client, and `pool.end()` waits for it
 * forever. This tracks checked-out clients; once the pool is ending, any whose connection is gone
 * is released (removed) on its behalf. Live checked-out clients are still awaited gracefully.
 * It also gives every client an 'error' listener: a checked-out client has none from the pool,
 * and a dropped connection would otherwise be an uncaught 'error' event (a crash on Node).
 */
function releaseDeadClients(pool: Pool): () => void {
  const checkedOut = new Set<PoolClient>()
  const dead = new WeakSet<PoolClient>()
  const watched = new WeakSet<PoolClient>()
  const reap = () => {
    if (!pool.ending) return
    for (const client of checkedOut) {
      if (!dead.has(client)) continue
      checkedOut.delete(client)
      const release = client.release.bind(client)
      client.release = () => {} // the owner may still call it; a second release would throw
      release(new Error('connection lost while checked out'))
    }
  }
  pool.on('acquire', (client: PoolClient) => {
    checkedOut.add(client)
    if (watched.has(client)) return
    watched.add(client)
    client.on('error', () => {})
    client.once('end', () => {
      // pg 8.8 (bundled) Client.end() waits for an 'end' that has already happened; the pool
      // calls it when removing this client, so make it finish at once.
      ;(client as PoolClient & Pick<Client, 'end'>).end = endedAlready as Client['end']
      dead.add(client)
      reap()
    })
  })
  pool.on('release', (_err: Error | undefined, client: PoolClient) => checkedOut.delete(client))
  return reap
}

function endedAlready(callback?: () => void): Promise<void> | undefined {
  if (!callback) return Promise.resolve()
  callback()
}

/**
 * A Pool whose connections go through a local Neon-compatible proxy. The settings live on each
 * client, not on the global `neonConfig`, so other pools in the process are unaffected.
 */
class LocalProxyPool extends Pool {
  constructor(proxy: string, url: string, max: number) {
    super({ connectionString: url, max })
    // NeonPool assigns its own Client class after pg-pool reads `options.Client`; override here.
    this.Client = class LocalProxyClient extends Client {
      constructor(config?: string | ClientConfig) {
        super(config)
        const options = this.neonConfig
        options.wsProxy = (host, port) => `${proxy}/v2?address=${host}:${port}`
        options.useSecureWebSocket = false
        options.pipelineConnect = false
      }
    }
  }
}

/**
 * Specifiers held in variables so bundlers (wrangler's esbuild) leave these imports to run time
 * instead of pulling PGlite and its WASM loader into a Workers bundle that never uses it.
 */
const PGLITE = '@electric-sql/pglite'
const DRIZZLE_PGLITE = 'drizzle-orm/pglite'
const NODE_FS = 'node:fs/promises'
const PG = 'pg'
const DRIZZLE_NODE_POSTGRES = 'drizzle-orm/node-postgres'

async function openNodePostgres(url: string, max = 10): Promise<DatabaseHandle> {
  const [pg, { drizzle }] = (await Promise.all([
    import(/* @vite-ignore */ PG),
    import(/* @vite-ignore */ DRIZZLE_NODE_POSTGRES),
  ])) as [typeof import('pg'), typeof import('drizzle-orm/node-postgres')]
  const Pool = pg.Pool ?? (pg as unknown as { default: typeof import('pg') }).default.Pool
  const pool = new Pool({ connectionString: url, max })
  // An idle pooled connection that the server drops must not become an unhandled 'error' event.
  pool.on('error', () => {})
  // A checked-out client has no pool listener: a dropped connection must not crash the process.
  pool.on('connect', (client) => client.on('error', () => {}))
  const db: Database = drizzle({ client: pool, schema })
  return handle(db, 'node-postgres', () => pool.end())
}

async function openPglite(dataDir: string | undefined): Promise<DatabaseHandle> {
  const [{ PGlite }, { drizzle }] = (await Promise.all([
    import(/* @vite-ignore */ PGLITE),
    import(/* @vite-ignore */ DRIZZLE_PGLITE),
  ])) as [typeof import('@electric-sql/pglite'), typeof import('drizzle-orm/pglite')]
  // PGlite creates only the last path segment; a plain path (no idb:// or memory://) is a Node
  // directory, so make its parents too.
  if (dataDir !== undefined && !/^[a-z]+:\/\//.test(dataDir)) {
    const { mkdir } = (await import(
      /* @vite-ignore */ NODE_FS
    )) as typeof import('node:fs/promises')
    await mkdir(dataDir, { recursive: true })
  }
  const client = await PGlite.create(dataDir === undefined ? {} : { dataDir })
  const db: Database = drizzle({ client, schema })
  return handle(db, 'pglite', () => client.close())
}

function handle(
  db: Database,
  driver: DatabaseConfig['driver'],
  end: () => Promise<void>
): DatabaseHandle {
  let closed: Promise<void> | undefined
  return {
    db,
    driver,
    async ping() {
      await db.execute(sql`select 1`)
    },
    close() {
      closed ??= end()
      return closed
    },
  }
}
