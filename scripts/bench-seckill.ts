/**
 * `npm run bench:seckill [-- --quick] [-- --phases baseline,embedded,tcp,rest]`: the flash-sale
 * hot path, POST /vouchers/{id}/seckill with distinct logged-in buyers, phase by phase:
 *
 *   baseline  the same lua/seckill-reserve.lua behind a bare node:http handler on a direct TCP
 *             Redis client (scripts/bench-baseline-server.ts): no session, limit, queue or DB
 *   embedded  the app with its embedded defaults (in-memory Redis and queue, PGlite)
 *   tcp       the app on Redis over TCP (REDIS_URL), Postgres over TCP (pg) and the QStash stand-in
 *   rest      the app on the REST/WebSocket stand-ins (Upstash gateway, Neon proxy) and QStash
 *
 * and two load shapes: "most refused" (BENCH_BUYERS buyers, stock BENCH_STOCK) and "all accepted"
 * (stock = buyers). Every party runs in a process of its own: the app, the stand-ins, the load
 * generator (autocannon, scripts/bench/load-child.ts). Each phase: untimed set-up (users and
 * sessions through the app's own adapters) and warm-up (a separate sale), then the timed run on
 * the load child's own clock (every buyer once), CPU time per party read from /proc around it
 * (app, stand-ins, redis-server, the database's Postgres backends), then the invariants once every
 * order is persisted: accepted = min(stock, buyers); orders in Postgres = accepted, nobody twice;
 * Redis stock = Postgres stock = stock - sold.
 *
 * --quick: small shapes for a smoke run (numbers meaningless). Redis and Postgres are the local
 * shared ones: their CPU includes whatever else runs on them.
 * Env: BENCH_BUYERS (100000), BENCH_STOCK (1000), BENCH_ACCEPTED (20000), BENCH_CONNECTIONS (50),
 *      REDIS_URL (redis://127.0.0.1:6379), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readFileSync } from 'node:fs'
import pg from 'pg'
import { createClient } from 'redis'
import { randomToken } from '../src/adapters/system/random.ts'
import { freePort } from '../test/harness/net.ts'

const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const env = process.env
const num = (name: string, full: number, quick: number) =>
  Number(env[name] ?? (QUICK ? quick : full))
const BUYERS = num('BENCH_BUYERS', 100_000, 3000)
const STOCK = num('BENCH_STOCK', 1000, 30)
const ACCEPTED = num('BENCH_ACCEPTED', 20_000, 1500)
const WARMUP = QUICK ? 200 : 2000
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const adminUrl = env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const phasesArg = argv.includes('--phases') ? argv[argv.indexOf('--phases') + 1]! : ''
const PHASES = (phasesArg || 'baseline,embedded,tcp,rest').split(',')
const ADMIN = randomToken(24)
const run = `${Date.now()}`
const CLK_TCK = 100

interface Shape {
  name: string
  buyers: number
  stock: number
}
const SHAPES: Shape[] = [
  { name: 'most refused', buyers: BUYERS, stock: STOCK },
  { name: 'all accepted', buyers: ACCEPTED, stock: ACCEPTED },
]

interface Load {
  seconds: number
  requests: number
  errors: number
  codes: Record<string, number>
  p50: number
  p99: number
  max: number
}
interface Row {
  phase: string
  shape: string
  load: Load
  cpu: Record<string, number>
  checks: Record<string, boolean>
}

// ---- processes ------------------------------------------------------------------------------

interface Child {
  proc: ChildProcess
  pid: number
  ready: unknown
  call<T>(msg: Record<string, unknown>): Promise<T>
  stop(): Promise<void>
}

async function startChild(script: string, childEnv: Record<string, string>): Promise<Child> {
  // The caller's REDIS_URL / DATABASE_URL must not leak into a phase that does not set them.
  const base = { ...process.env, REDIS_URL: '', DATABASE_URL: '' }
  const proc = fork(script, [], { env: { ...base, ...childEnv }, stdio: 'inherit' })
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  let next = 0
  const first = await new Promise<{ ready: unknown; pid: number }>((resolve, reject) => {
    proc.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)))
    proc.once('message', (m) => resolve(m as { ready: unknown; pid: number }))
  })
  proc.on('message', (m: { id?: number; result?: unknown; error?: string }) => {
    if (m.id === undefined) return
    const p = pending.get(m.id)
    pending.delete(m.id)
    if (m.error) p?.reject(new Error(m.error))
    else p?.resolve(m.result)
  })
  return {
    proc,
    pid: first.pid,
    ready: first.ready,
    call: <T>(msg: Record<string, unknown>) =>
      new Promise<T>((resolve, reject) => {
        const id = next++
        pending.set(id, { resolve: resolve as (v: unknown) => void, reject })
        proc.send({ ...msg, id })
      }),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return
      const exited = new Promise((r) => proc.once('exit', r))
      proc.disconnect()
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** Runs one load in its own process; resolves with its measurements. */
async function load(url: string, header: string, values: string[]): Promise<Load> {
  const proc = fork('scripts/bench/load-child.ts', [], { stdio: 'inherit' })
  const result = new Promise<Load>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Load))
    proc.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
  })
  proc.send({ url, header, values, connections: CONNECTIONS })
  const out = await result
  await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(null)))
  return out
}

// ---- CPU time from /proc --------------------------------------------------------------------

function cpuMsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLK_TCK
  } catch {
    return 0 // the process is gone
  }
}

/** Parties → their pids, re-read at each snapshot (Postgres backends come and go). */
type Parties = Record<string, () => Promise<number[]>>

async function snapshot(parties: Parties): Promise<Map<string, Map<number, number>>> {
  const out = new Map<string, Map<number, number>>()
  for (const [name, pids] of Object.entries(parties)) {
    out.set(name, new Map((await pids()).map((pid) => [pid, cpuMsOf(pid)])))
  }
  return out
}

/** CPU ms per party between two snapshots (processes present in both). */
function cpuDelta(
  before: Map<string, Map<number, number>>,
  after: Map<string, Map<number, number>>
): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, pids] of after) {
    let ms = 0
    for (const [pid, t] of pids) ms += t - (before.get(name)?.get(pid) ?? t)
    out[name] = ms
  }
  return out
}

async function redisServerPid(): Promise<number> {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  const info = await redis.info('server')
  await redis.quit()
  return Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0)
}

async function postgresPids(database: string): Promise<number[]> {
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  try {
    const { rows } = await admin.query('select pid from pg_stat_activity where datname = $1', [
      database,
    ])
    return rows.map((r: { pid: number }) => r.pid)
  } finally {
    await admin.end()
  }
}

// ---- set-up helpers -------------------------------------------------------------------------

async function withDatabase<T>(work: (url: string, name: string) => Promise<T>): Promise<T> {
  const name = `bench_${run}_${Math.floor(Math.random() * 1e6)}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database ${name}`)
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  try {
    return await work(url.toString(), name)
  } finally {
    await admin.query(`drop database if exists ${name} with (force)`)
    await admin.end()
  }
}

async function createSale(base: string, stock: number): Promise<string> {
  const now = Date.now()
  const res = await fetch(`${base}/vouchers/seckill`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      shopId: '1',
      title: 'bench',
      payValue: 100,
      actualValue: 1000,
      stock,
      beginAt: new Date(now - 60_000).toISOString(),
      endAt: new Date(now + 3_600_000).toISOString(),
    }),
  })
  if (res.status !== 201) throw new Error(`creating the sale: ${res.status} ${await res.text()}`)
  return ((await res.json()) as { id: string }).id
}

async function cleanRedis(prefix: string) {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length) await redis.unlink(keys)
  }
  await redis.quit()
}

// ---- phases ---------------------------------------------------------------------------------

async function baselinePhase(): Promise<Row[]> {
  const rows: Row[] = []
  const prefix = `bench:${run}:base:`
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  try {
    for (const shape of SHAPES) {
      const keys = ['', ':buyers', ':orders', ':outbox', ':idem'].map(
        (s) => `${prefix}sk:{${shape.stock}}${s}`
      )
      const now = Date.now()
      await redis.hSet(keys[0]!, {
        stock: shape.stock,
        initial: shape.stock,
        begin: now - 60_000,
        end: now + 3_600_000,
        limit: 1,
      })
      const server = await startChild('scripts/bench-baseline-server.ts', {
        REDIS_URL: redisUrl,
        BASELINE_KEYS: keys.join(','),
      })
      try {
        const url = `http://127.0.0.1:${server.ready}/seckill`
        const users = Array.from({ length: shape.buyers }, (_, i) => String(i + 1))
        // Warm-up (connections, script cache): one user asking WARMUP times buys one unit.
        await load(
          url,
          'x-user',
          Array.from({ length: WARMUP }, () => 'warm-up')
        )
        const parties: Parties = {
          app: async () => [server.pid],
          redis: async () => [await redisServerPid()],
        }
        const before = await snapshot(parties)
        const result = await load(url, 'x-user', users)
        const cpu = cpuDelta(before, await snapshot(parties))
        const left = Number(await redis.hGet(keys[0]!, 'stock'))
        const buyers = await redis.hLen(keys[1]!)
        const sold = Math.min(shape.stock - 1, shape.buyers)
        rows.push({
          phase: 'baseline (bare Lua, TCP)',
          shape: shape.name,
          load: result,
          cpu,
          checks: {
            'accepted == min(stock, buyers)': (result.codes['202'] ?? 0) === sold,
            'Redis: stock left and buyers match (+ the warm-up buyer)':
              left === shape.stock - 1 - sold && buyers === sold + 1,
          },
        })
      } finally {
        await server.stop()
      }
    }
  } finally {
    await redis.quit()
    await cleanRedis(prefix)
  }
  return rows
}

type AppPhase = 'embedded' | 'tcp' | 'rest'
const LABELS: Record<AppPhase, string> = {
  embedded: 'app embedded',
  tcp: 'app on TCP Redis + PG',
  rest: 'app on REST/WS stand-ins',
}

async function appPhase(kind: AppPhase, databaseUrl?: string, database?: string): Promise<Row[]> {
  const prefix = `bench:${run}:${kind}:`
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  let stack: Child | undefined
  let appEnv: Record<string, string> = {
    PORT: String(port),
    APP_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: ':memory:',
    PUBLIC_URL: base,
    ADMIN_TOKEN: ADMIN,
    SEED_DEMO_DATA: 'true',
    SECKILL_USER_LIMIT: 'off',
    SECKILL_GLOBAL_LIMIT: 'off',
    REDIS_KEY_PREFIX: prefix,
  }
  if (kind !== 'embedded') {
    stack = await startChild('scripts/bench/stack-child.ts', {
      BENCH_REDIS_URL: redisUrl,
      BENCH_DATABASE_URL: databaseUrl!,
    })
    const stackEnv = stack.ready as Record<string, string>
    if (kind === 'rest') appEnv = { ...appEnv, ...stackEnv }
    else {
      const { QSTASH_URL, QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY } =
        stackEnv
      appEnv = {
        ...appEnv,
        ...{ QSTASH_URL, QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY },
        REDIS_URL: redisUrl,
        DATABASE_URL: databaseUrl!,
      } as Record<string, string>
    }
  }
  const app = await startChild('scripts/bench/app-child.ts', appEnv)
  const rows: Row[] = []
  try {
    const most = Math.max(...SHAPES.map((s) => s.buyers))
    const tokens = await app.call<string[]>({ op: 'mint', from: 0, n: most + WARMUP })
    const warmTokens = tokens.splice(most)
    const parties: Parties = {
      app: async () => [app.pid],
      ...(stack ? { 'stand-ins': async () => [stack!.pid] } : {}),
      ...(kind !== 'embedded'
        ? {
            redis: async () => [await redisServerPid()],
            postgres: () => postgresPids(database!),
          }
        : {}),
    }
    for (const shape of SHAPES) {
      const warm = await createSale(base, WARMUP)
      await load(`${base}/vouchers/${warm}/seckill`, 'authorization', warmTokens)
      const sale = await createSale(base, shape.stock)
      const before = await snapshot(parties)
      const result = await load(
        `${base}/vouchers/${sale}/seckill`,
        'authorization',
        tokens.slice(0, shape.buyers)
      )
      const cpu = cpuDelta(before, await snapshot(parties))
      let audit: {
        pending: number | null
        redisStock: number | null
        dbStock: number | null
        orders: number
        buyers: number
      }
      for (;;) {
        await stack?.call({ op: 'idle' })
        audit = await app.call({ op: 'audit', voucherId: sale })
        if (audit.pending === 0) break
        await new Promise((r) => setTimeout(r, 100)) // waiting on another process's consumer
      }
      const accepted = result.codes['202'] ?? 0
      const sold = Math.min(shape.stock, shape.buyers)
      rows.push({
        phase: LABELS[kind],
        shape: shape.name,
        load: result,
        cpu,
        checks: {
          'accepted == min(stock, buyers)': accepted === sold,
          'orders in Postgres == accepted, nobody twice':
            audit.orders === accepted && audit.buyers === accepted,
          'Redis stock == Postgres stock == stock - sold':
            audit.redisStock === shape.stock - sold && audit.dbStock === shape.stock - sold,
          'only 202 and 409 answers, no socket errors':
            result.errors === 0 &&
            Object.keys(result.codes).every((c) => c === '202' || c === '409'),
        },
      })
    }
  } finally {
    await app.stop()
    await stack?.stop()
    await cleanRedis(prefix)
  }
  return rows
}

// ---- report ---------------------------------------------------------------------------------

function report(rows: Row[]): boolean {
  const pad = (s: string, n: number) => s.padEnd(n)
  const num = (n: number, d = 0) => n.toFixed(d).padStart(8)
  console.log(
    `\n${pad('phase', 27)}${pad('shape', 14)}   req/s  ×base     p50     p99     max  requests   s     CPU ms/req (per party)`
  )
  let ok = true
  for (const r of rows) {
    const rps = r.load.requests / r.load.seconds
    const base = rows.find((b) => b.phase.startsWith('baseline') && b.shape === r.shape)
    const ratio = base ? rps / (base.load.requests / base.load.seconds) : Number.NaN
    const per = Object.entries(r.cpu).map(([p, ms]) => `${p} ${(ms / r.load.requests).toFixed(3)}`)
    const total = Object.values(r.cpu).reduce((a, b) => a + b, 0) / r.load.requests
    console.log(
      `${pad(r.phase, 27)}${pad(r.shape, 14)}${num(rps)}${num(ratio, 2)}${num(r.load.p50)}${num(r.load.p99)}${num(r.load.max)}${num(r.load.requests)}${num(r.load.seconds, 1)}   total ${total.toFixed(3)} (${per.join(', ')})`
    )
    for (const [check, passed] of Object.entries(r.checks)) {
      if (!passed) console.log(`    FAIL ${check}  answers ${JSON.stringify(r.load.codes)}`)
      ok &&= passed
    }
  }
  console.log(ok ? '\nall invariants hold after every phase' : '\nINVARIANTS FAILED')
  return ok
}

console.log(
  `seckill benchmark${QUICK ? ' (--quick: smoke run, numbers meaningless)' : ''}: ` +
    `"most refused" ${BUYERS} buyers / stock ${STOCK}, "all accepted" ${ACCEPTED}, ` +
    `${CONNECTIONS} connections, phases ${PHASES.join(', ')}`
)
const rows: Row[] = []
if (PHASES.includes('baseline')) rows.push(...(await baselinePhase()))
if (PHASES.includes('embedded')) rows.push(...(await appPhase('embedded')))
for (const kind of ['tcp', 'rest'] as const) {
  if (PHASES.includes(kind)) {
    rows.push(...(await withDatabase((url, name) => appPhase(kind, url, name))))
  }
}
process.exitCode = report(rows) ? 0 : 1
