/**
 * `npm run db:seed`: applies migrations and loads the demo shops into an empty database (idempotent:
 * a database that already has shop types is left alone), then rebuilds the Redis side (the shop
 * Bloom filter and GEO sets) when Upstash is configured.
 *
 * Which database:
 *   --pglite <dir>   the embedded PGlite database in <dir> (stop `npm start` first: one process
 *                    at a time may open it)
 *   DATABASE_URL     Postgres through the Neon driver; set NEON_LOCAL_PROXY for a local Postgres
 *                    (e.g. `node --env-file=.stack.env scripts/seed.ts` after `npm run stack`)
 *   neither          PGlite under DATA_DIR (default .data), i.e. what `npm start` uses
 *
 * Without UPSTASH_REDIS_REST_* the indexes live in the server's memory and `npm start` builds
 * them itself; either way reads rebuild them on demand when they are missing.
 */
import { createDatabase, type DatabaseConfig } from '../src/adapters/postgres/db.ts'
import { cliConfig, migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { seedDemoShops } from '../src/adapters/postgres/seed.ts'
import { createContainer } from '../src/app/deps.ts'

const env = process.env
const argv = process.argv.slice(2)

function databaseConfig(): DatabaseConfig {
  if (argv.includes('--pglite') || env.DATABASE_URL) return cliConfig(argv, env)
  return { driver: 'pglite', dataDir: `${env.DATA_DIR || '.data'}/pglite` }
}

async function main() {
  const config = databaseConfig()
  const handle = await createDatabase(config)
  let result: Awaited<ReturnType<typeof seedDemoShops>>
  try {
    await migrateDatabase(handle)
    result = await seedDemoShops(handle.db)
  } finally {
    await handle.close()
  }
  const where = config.driver === 'pglite' ? `PGlite ${config.dataDir}` : 'DATABASE_URL'
  console.log(
    result.seeded
      ? `seeded ${result.types} shop types and ${result.shops} shops into ${where}`
      : `${where} already has shop types: left unchanged`
  )
  if (!env.UPSTASH_REDIS_REST_URL) {
    console.log('no UPSTASH_REDIS_REST_URL: the server builds the Bloom filter and GEO sets itself')
    return
  }
  const container = await createContainer(
    { ...env, DATABASE_URL: config.driver === 'pglite' ? '' : env.DATABASE_URL },
    {
      databasePerRequest: false,
      requireCloudServices: false,
      embeddedDatabase: async () =>
        createDatabase({ driver: 'pglite', dataDir: (config as { dataDir: string }).dataDir }),
    }
  )
  try {
    const scope = await container.scope()
    const { shops } = await scope.deps.shops.rebuildIndexes()
    console.log(`Redis: Bloom filter and GEO sets rebuilt from ${shops} shops`)
  } finally {
    await container.close()
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e)
  process.exitCode = 1
})
