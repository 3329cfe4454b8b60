/**
 * `npm run bench:seckill`: loads POST /vouchers/{id}/seckill with distinct logged-in users and
 * prints throughput and latency next to a same-run baseline, then checks the invariants.
 *
 * - edge app: `node src/app/node.ts` in its own process, on the real local stack (Upstash gateway →
 *   Redis, QStash stand-in → the app's consumer, Neon proxy → a fresh Postgres database).
 * - baseline: the same lua/seckill-reserve.lua behind a bare node:http handler on a direct TCP
 *   Redis client (scripts/bench-baseline-server.ts), also in its own process.
 * The load generator (autocannon) and the stand-ins share this process.
 *
 * Env: BENCH_USERS (4000), BENCH_STOCK (1000), BENCH_CONNECTIONS (50), REDIS_URL, PG_ADMIN_URL.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { once } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import autocannon from 'autocannon'
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { DrizzleUserRepository } from '../src/adapters/postgres/user-repository.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { randomToken } from '../src/adapters/system/random.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashSessionStore } from '../src/adapters/upstash/sessions.ts'
import { UpstashStockLedger } from '../src/adapters/upstash/stock-ledger.ts'
import { startLocalStack } from '../test/stack/index.ts'

const env = process.env
const USERS = Number(env.BENCH_USERS ?? 4000)
const STOCK = Number(env.BENCH_STOCK ?? 1000)
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const adminUrl = env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const ADMIN = randomToken(24)
const run = `${Date.now()}`
const prefix = `bench:${run}:`

interface Load {
  rps: number
  p50: number
  p99: number
  codes: Record<string, number>
}

/** One request per entry of `values`, each with `header: value`, over CONNECTIONS connections. */
async function load(url: string, header: string, values: string[]): Promise<Load> {
  let i = 0
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount: values.length,
    requests: [
      {
        method: 'POST',
        setupRequest: (req) => ({ ...req, headers: { ...req.headers, [header]: values[i++]! } }),
      },
    ],
  })
  const codes: Record<string, number> = {}
  for (const [code, s] of Object.entries(result.statusCodeStats ?? {}))
    codes[code] = Number(s.count)
  return {
    rps: result.requests.total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    codes,
  }
}

/** Spawns `node <script>` and resolves with the child once `ready` says it is up. */
async function child(
  script: string,
  childEnv: Record<string, string>,
  ready: (line: string) => boolean
) {
  const proc = spawn(process.execPath, [script], {
    env: { ...process.env, ...childEnv },
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  let first = ''
  await new Promise<void>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
    proc.stdout!.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) {
        if (!first && ready(line)) {
          first = line
          resolve()
        }
      }
    })
  })
  return { proc, first }
}

async function stop(proc: ChildProcess) {
  if (proc.exitCode !== null) return
  proc.kill('SIGTERM')
  await once(proc, 'exit')
}

async function benchBaseline(): Promise<{ result: Load; checks: Record<string, boolean> }> {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  const keys = ['', ':buyers', ':orders', ':outbox', ':idem'].map((s) => `${prefix}sk:{base}${s}`)
  const now = Date.now()
  await redis.hSet(keys[0]!, {
    stock: STOCK,
    initial: STOCK,
    begin: now - 60_000,
    end: now + 3_600_000,
    limit: 1,
  })
  const { proc, first } = await child(
    'scripts/bench-baseline-server.ts',
    { REDIS_URL: redisUrl, BASELINE_KEYS: keys.join(',') },
    (line) => /^\d+$/.test(line.trim())
  )
  try {
    const users = Array.from({ length: USERS }, (_, i) => String(i + 1))
    const result = await load(`http://127.0.0.1:${first.trim()}/seckill`, 'x-user', users)
    const left = Number(await redis.hGet(keys[0]!, 'stock'))
    const buyers = await redis.hLen(keys[1]!)
    return {
      result,
      checks: {
        'baseline: accepted == stock sold, one per user':
          result.codes['202'] === STOCK - left && buyers === STOCK - left,
      },
    }
  } finally {
    await stop(proc)
    await redis.del(keys)
    await redis.quit()
  }
}

async function benchEdge(
  databaseUrl: string
): Promise<{ result: Load; checks: Record<string, boolean> }> {
  const stack = await startLocalStack({ redisUrl, databaseUrl })
  const db = await createDatabase({
    driver: 'neon-serverless',
    url: databaseUrl,
    localProxy: stack.neon.address,
  })
  await migrateDatabase(db)
  const port = 18_000 + Math.floor(Math.random() * 2000)
  const base = `http://127.0.0.1:${port}`
  const proc = spawn(process.execPath, ['src/app/node.ts'], {
    env: {
      ...process.env,
      ...stack.env,
      PORT: String(port),
      APP_ENV: 'test',
      LOG_LEVEL: 'warn',
      PUBLIC_URL: base,
      REDIS_KEY_PREFIX: prefix,
      ADMIN_TOKEN: ADMIN,
      SEED_DEMO_DATA: 'true',
      SECKILL_USER_LIMIT: 'off',
      SECKILL_GLOBAL_LIMIT: 'off',
    },
    stdio: 'inherit',
  })
  while ((await fetch(`${base}/health`).catch(() => null))?.status !== 200) await sleep(100)
  const redis = createUpstashRedis({ url: stack.gateway.url, token: stack.gateway.token })
  const clock = new SystemClock()
  const ledger = new UpstashStockLedger(redis, clock, prefix, { retentionMs: 86_400_000 })
  try {
    const now = Date.now()
    const created = await fetch(`${base}/vouchers/seckill`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        shopId: '1',
        title: 'bench',
        payValue: 100,
        actualValue: 1000,
        stock: STOCK,
        beginAt: new Date(now - 60_000).toISOString(),
        endAt: new Date(now + 3_600_000).toISOString(),
      }),
    })
    if (created.status !== 201)
      throw new Error(`creating the sale: ${created.status} ${await created.text()}`)
    const { id: voucherId } = (await created.json()) as { id: string }
    // Users and sessions through the production adapters (setup, not measured).
    const users = new DrizzleUserRepository(db.db)
    const sessions = new UpstashSessionStore(redis, clock, prefix)
    const tokens: string[] = []
    for (let i = 0; i <= USERS; i += 200) {
      const n = Math.min(200, USERS + 1 - i)
      tokens.push(
        ...(await Promise.all(
          Array.from({ length: n }, async (_, j) => {
            const { user } = await users.findOrCreateByPhone(
              `+1555${String(i + j).padStart(7, '0')}`,
              'b'
            )
            const token = randomToken()
            await sessions.create(token, { id: user.id, nickname: 'b', icon: '' }, 3_600_000)
            return `Bearer ${token}`
          })
        ))
      )
    }
    // Warm-up with a user of its own: scripts loaded, connections open.
    await fetch(`${base}/vouchers/${voucherId}/seckill`, {
      method: 'POST',
      headers: { authorization: tokens.pop()! },
    })
    const result = await load(`${base}/vouchers/${voucherId}/seckill`, 'authorization', tokens)
    // Wait until every accepted order has been persisted (the consumer runs asynchronously).
    for (;;) {
      await stack.qstash.idle()
      const audit = await ledger.audit(voucherId, false)
      if (audit?.pending === 0) break
      await sleep(50)
    }
    const audit = await ledger.audit(voucherId, false)
    const { rows } = await db.db.execute<{ orders: number; buyers: number; stock: number }>(
      `select (select count(*)::int from voucher_orders where voucher_id = ${voucherId} and status = 'unpaid') as orders,
              (select count(distinct user_id)::int from voucher_orders where voucher_id = ${voucherId}) as buyers,
              (select stock from seckill_vouchers where voucher_id = ${voucherId}) as stock` as never
    )
    const sold = Math.min(STOCK, USERS + 1)
    const accepted = (result.codes['202'] ?? 0) + 1 // + the warm-up
    const row = rows[0]!
    return {
      result,
      checks: {
        'edge: accepted == min(stock, users)': accepted === sold,
        'edge: orders in Postgres == accepted, no user twice':
          row.orders === accepted && row.buyers === accepted,
        'edge: Redis stock == Postgres stock == stock - sold':
          audit?.stock === STOCK - sold && row.stock === STOCK - sold,
        'edge: only 202 and 409 answers': Object.keys(result.codes).every(
          (c) => c === '202' || c === '409'
        ),
      },
    }
  } finally {
    await stop(proc)
    await db.close()
    await stack.close()
  }
}

async function withDatabase<T>(work: (url: string) => Promise<T>): Promise<T> {
  const name = `bench_${run}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  try {
    return await work(url.toString())
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

async function cleanRedis() {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length) await redis.del(keys)
  }
  await redis.quit()
}

console.log(
  `seckill benchmark: ${USERS} distinct users, stock ${STOCK}, ${CONNECTIONS} connections`
)
try {
  const baseline = await benchBaseline()
  const edge = await withDatabase(benchEdge)
  const fmt = (n: number) => n.toFixed(1).padStart(9)
  console.log('\n                                       req/s    p50 ms    p99 ms   answers')
  for (const [name, r] of [
    ['edge app (gateway + QStash + Neon)    ', edge.result],
    ['baseline (same Lua, TCP, bare http)   ', baseline.result],
  ] as const) {
    console.log(`${name}${fmt(r.rps)}${fmt(r.p50)}${fmt(r.p99)}   ${JSON.stringify(r.codes)}`)
  }
  console.log(
    `ratio edge / baseline throughput: ${(edge.result.rps / baseline.result.rps).toFixed(3)}\n`
  )
  let ok = true
  for (const [check, passed] of Object.entries({ ...edge.checks, ...baseline.checks })) {
    console.log(`${passed ? 'ok  ' : 'FAIL'} ${check}`)
    ok &&= passed
  }
  process.exitCode = ok ? 0 : 1
} finally {
  await cleanRedis()
}
