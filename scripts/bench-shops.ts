/**
 * `npm run bench:shops`: throughput of a cached `GET /shops/:id` next to a hello-world route of the
 * same app in the same run (the baseline: same middleware, same process, same load generator).
 *
 * Two Node servers, each in its own child process (the load generator runs in this one):
 *   server A  hello: GET /__bench/hello on the app (request id, access log, session middleware,
 *             dependency scope; no I/O), and
 *             L1 hit: GET /shops/1 with the isolate-local L1 (CACHE_L1_TTL=1s): no Redis call
 *   server B  Redis hit: GET /shops/1 with the L1 off (CACHE_L1_MAX_ENTRIES=0): every request
 *             reads Redis (GET + the Bloom lookup, one pipelined HTTP request to Upstash)
 *
 * The targets run interleaved for several short rounds (A B C A B C ...). Reported: the median
 * req/s of each, and the median of its per-round ratio to the baseline measured just before it,
 * so drifting background load on the machine cancels out of the ratio.
 *
 * Usage: node scripts/bench-shops.ts [--stack | --tcp] [--quick] [--seconds N] [--rounds N]
 *                                    [--connections N]
 *   default   embedded adapters (in-memory Redis, PGlite): the cost of the app itself
 *   --stack   the REST path: @upstash/redis (undici pool on Node) → gateway → local Redis, Neon
 *             driver → proxy → local Postgres (database edge_bench, created and dropped; keys
 *             under bench:*)
 *   --tcp     the TCP path: @upstash/redis on RESP (REDIS_URL) → local Redis, pg → Postgres
 *   --quick   one round of 1 s (a smoke run; numbers meaningless)
 * The gateway and the proxy (--stack) share this process with the load generator.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { createInterface } from 'node:readline'
import { serve } from '@hono/node-server'
import type { ExecutionContext } from 'hono'
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { seedDemoShops } from '../src/adapters/postgres/seed.ts'
import { createNodeRestRedis } from '../src/adapters/upstash/rest-node.ts'
import { openTcpRedis } from '../src/adapters/upstash/tcp.ts'
import { createApp } from '../src/app/app.ts'
import { createContainer } from '../src/app/deps.ts'
import { startNeonProxy } from '../test/stack/neon-proxy.ts'
import { startUpstashGateway } from '../test/stack/upstash-gateway.ts'

interface CannonResult {
  requests: { average: number; total: number }
  latency: { p50: number; p99: number }
  non2xx: number
  errors: number
}
type Cannon = (opts: {
  url: string
  connections: number
  duration: number
  pipelining?: number
}) => Promise<CannonResult>
const autocannon = createRequire(import.meta.url)('autocannon') as Cannon

const argv = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const at = argv.indexOf(name)
  return at === -1 ? fallback : Number(argv[at + 1])
}

if (argv.includes('--serve')) {
  await serveChild()
} else {
  await runBenchmark()
}

/** Child: one server on the env it was given; prints its URL. */
async function serveChild() {
  const container = await createContainer(process.env, {
    databasePerRequest: false,
    requireCloudServices: false,
    // As `npm start` on Node: Redis over TCP, REST through the undici pool, Postgres over TCP.
    openTcpRedis,
    restRedis: createNodeRestRedis,
    postgresOverTcp: true,
    embeddedDatabase: async () => {
      const handle = await createDatabase({ driver: 'pglite' })
      await migrateDatabase(handle)
      await seedDemoShops(handle.db)
      return handle
    },
  })
  const app = createApp(container)
  app.get('/__bench/hello', (c) => c.text('hello'))
  const scope = await container.scope()
  await scope.deps.shops.ensureIndexes()
  const ctx: ExecutionContext = {
    waitUntil: (p) => void p.catch(() => {}),
    passThroughOnException() {},
    props: {},
  }
  const server = serve({ fetch: (req) => app.fetch(req, process.env, ctx), port: 0 }, (info) =>
    console.log(`LISTENING http://127.0.0.1:${info.port}`)
  )
  process.on('SIGTERM', () => {
    server.close()
    container.close().finally(() => process.exit(0))
  })
}

function startChild(env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [process.argv[1]!, '--serve'], {
    // REDIS_URL in the caller's shell must not turn a REST or embedded run into a TCP one.
    env: { ...process.env, REDIS_URL: '', APP_ENV: 'test', LOG_LEVEL: 'silent', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`server exited with ${code}`)))
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const m = line.match(/^LISTENING (\S+)/)
      if (m) resolve({ url: m[1]!, child })
    })
  })
}

async function runBenchmark() {
  const quick = argv.includes('--quick')
  const seconds = flag('--seconds', quick ? 1 : 3)
  const rounds = flag('--rounds', quick ? 1 : 5)
  const connections = flag('--connections', 50)
  const tcp = argv.includes('--tcp')
  const stack = argv.includes('--stack') || tcp
  const cleanup: (() => Promise<unknown>)[] = []
  let env: Record<string, string> = {}
  try {
    if (stack) env = await startStack(cleanup, tcp)
    const a = await startChild(env)
    cleanup.push(async () => a.child.kill())
    const b = await startChild({ ...env, CACHE_L1_MAX_ENTRIES: '0' })
    cleanup.push(async () => b.child.kill())
    const targets = [
      { name: 'hello-world baseline', url: `${a.url}/__bench/hello` },
      { name: 'GET /shops/1 (L1 hit)', url: `${a.url}/shops/1` },
      { name: 'GET /shops/1 (Redis hit, L1 off)', url: `${b.url}/shops/1` },
    ]
    for (const t of targets) {
      const res = await fetch(t.url)
      if (res.status !== 200) throw new Error(`${t.url} answered ${res.status}`)
      await autocannon({ url: t.url, connections, duration: 1 }) // warm-up
    }
    console.log(
      `\n${tcp ? 'TCP (RESP → Redis, pg → Postgres)' : stack ? 'REST stack (gateway → Redis, proxy → Postgres)' : 'embedded (memory Redis, PGlite)'}; ` +
        `${connections} connections, ${rounds} interleaved rounds of ${seconds} s, median shown, ` +
        `Node ${process.version}\n`
    )
    const runs: CannonResult[][] = targets.map(() => [])
    for (let round = 0; round < rounds; round++) {
      for (const [i, t] of targets.entries()) {
        const r = await autocannon({ url: t.url, connections, duration: seconds })
        if (r.non2xx > 0 || r.errors > 0) {
          throw new Error(`${t.name}: ${r.non2xx} non-2xx, ${r.errors} errors`)
        }
        runs[i]!.push(r)
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
    const base = runs[0]!.map((r) => r.requests.average)
    const summary = runs.map((rs) => ({
      rps: median(rs.map((r) => r.requests.average)),
      ratio: median(rs.map((r, round) => r.requests.average / base[round]!)),
      p50: median(rs.map((r) => r.latency.p50)),
      p99: median(rs.map((r) => r.latency.p99)),
      all: rs.map((r) => r.requests.average.toFixed(0)).join(' / '),
    }))
    const rows = targets.map((t, i) => {
      const m = summary[i]!
      return [
        t.name,
        m.rps.toFixed(0),
        `${m.p50} ms`,
        `${m.p99} ms`,
        `${(m.ratio * 100).toFixed(0)} %`,
        m.all,
      ]
    })
    const head = [
      'route',
      'req/s',
      'p50',
      'p99',
      'vs baseline (median of rounds)',
      'rounds (req/s)',
    ]
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`
    console.log(line(head))
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
    for (const r of rows) console.log(line(r))
  } finally {
    for (const step of cleanup.reverse()) await step().catch(() => {})
  }
}

/**
 * The real adapters on a fresh local database: gateway → local Redis and Neon proxy → Postgres, or
 * (`tcp`) Redis over TCP and Postgres over TCP.
 */
async function startStack(
  cleanup: (() => Promise<unknown>)[],
  tcp: boolean
): Promise<Record<string, string>> {
  const adminUrl = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query('drop database if exists edge_bench with (force)')
  await admin.query('create database edge_bench')
  await admin.end()
  cleanup.push(async () => {
    const c = new pg.Client({ connectionString: adminUrl })
    await c.connect()
    await c.query('drop database if exists edge_bench with (force)')
    await c.end()
  })
  const url = new URL(adminUrl)
  url.pathname = '/edge_bench'
  cleanup.push(async () => {
    const redis = createClient({ url: redisUrl })
    await redis.connect()
    for await (const keys of redis.scanIterator({ MATCH: 'bench:*' })) {
      if (keys.length > 0) await redis.del(keys)
    }
    await redis.quit()
  })
  if (tcp) {
    const db = await createDatabase({ driver: 'node-postgres', url: url.toString() })
    await migrateDatabase(db)
    await seedDemoShops(db.db)
    await db.close()
    return { REDIS_URL: redisUrl, DATABASE_URL: url.toString(), REDIS_KEY_PREFIX: 'bench:' }
  }
  const gateway = await startUpstashGateway({ redisUrl, token: 'bench-token' })
  const proxy = await startNeonProxy()
  cleanup.push(
    () => gateway.close(),
    () => proxy.close()
  )
  const db = await createDatabase({
    driver: 'neon-serverless',
    url: url.toString(),
    localProxy: proxy.address,
  })
  await migrateDatabase(db)
  await seedDemoShops(db.db)
  await db.close()
  return {
    UPSTASH_REDIS_REST_URL: gateway.url,
    UPSTASH_REDIS_REST_TOKEN: gateway.token,
    DATABASE_URL: url.toString(),
    NEON_LOCAL_PROXY: proxy.address,
    REDIS_KEY_PREFIX: 'bench:',
  }
}
