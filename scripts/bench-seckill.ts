/**
 * `npm run bench:seckill [-- --quick] [-- --peer] [-- --phases baseline,embedded,tcp,rest,cluster]
 * [-- --rounds N] [-- --workers N]`: the flash-sale hot path, POST /vouchers/{id}/seckill with
 * distinct logged-in buyers, phase by phase:
 *
 *   baseline  the same lua/seckill-reserve.lua behind a bare node:http handler on a direct TCP
 *             Redis client (scripts/bench-baseline-server.ts): no session, limit, queue or DB
 *   embedded  the app with its embedded defaults (in-memory Redis and queue, PGlite)
 *   tcp       the app on Redis over TCP (REDIS_URL), Postgres over TCP (pg) and the QStash stand-in
 *   rest      the app on the REST/WebSocket stand-ins (Upstash gateway, Neon proxy) and QStash
 *   cluster   as tcp, on every core: the node:cluster primary with --workers (2) workers, as
 *             `npm start` runs with WEB_CONCURRENCY (scripts/bench/cluster-child.ts); users,
 *             sessions and audits go through a single app process on the same Redis and database
 *
 * and two load shapes: "most refused" (BENCH_BUYERS buyers, stock BENCH_STOCK) and "all accepted"
 * (stock = buyers); --peer instead runs the load of the peer's table in issue 11 (4,000 distinct
 * buyers, stock 1,000, medians of 3 rounds). Every party runs in a process of its own: the app,
 * the stand-ins, the load generator (autocannon, scripts/bench/load-child.ts). Each phase: untimed
 * set-up (users and sessions through the app's own adapters) and warm-up (a separate sale), then
 * per round a fresh sale and the timed run on the load child's own clock (every buyer once). CPU
 * time per party is read from /proc (app — the primary and its workers for cluster —, stand-ins,
 * redis-server, the database's Postgres backends) twice: when the load ends ("during load") and
 * once every accepted order is persisted ("with persistence": the queue deliveries and inserts
 * that finish after the load). Then the invariants: accepted = min(stock, buyers); orders in
 * Postgres = accepted, nobody twice; Redis stock = Postgres stock = stock - sold. With several
 * rounds each figure is the median of the rounds. The goals are printed as PASS/FAIL last.
 *
 * --quick: small shapes for a smoke run (numbers meaningless). Redis and Postgres are the local
 * shared ones: their CPU includes whatever else runs on them.
 * Env: BENCH_BUYERS (100000), BENCH_STOCK (1000), BENCH_ACCEPTED (20000), BENCH_CONNECTIONS (50),
 *      REDIS_URL (redis://127.0.0.1:6379), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { createClient } from 'redis'
import { randomToken } from '../src/adapters/system/random.ts'
import { freePort } from '../test/harness/net.ts'
import {
  type Child,
  childrenOf,
  cleanRedis,
  cpuDelta,
  cpuText,
  createSale,
  goal,
  type Load,
  load,
  median,
  option,
  type Parties,
  postgresPids,
  redisServerPid,
  redisUrl,
  type Snapshot,
  snapshot,
  startChild,
  startStandIns,
  transportEnv,
  withDatabase,
} from './bench/common.ts'

const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const PEER = argv.includes('--peer')
const env = process.env
const num = (name: string, full: number, quick: number) =>
  Number(env[name] ?? (QUICK ? quick : full))
const BUYERS = num('BENCH_BUYERS', 100_000, 1000)
const STOCK = num('BENCH_STOCK', 1000, 20)
const ACCEPTED = num('BENCH_ACCEPTED', 20_000, 300)
const WARMUP = QUICK ? 100 : 2000
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 50)
const ROUNDS = Number(option(argv, '--rounds') ?? (PEER ? 3 : 1))
const WORKERS = Number(option(argv, '--workers') ?? 2)
const PHASES = (option(argv, '--phases') || 'baseline,embedded,tcp,rest,cluster').split(',')
const ADMIN = randomToken(24)
const run = `${Date.now()}`
/** The peer's figure on this machine (issue 11): the both-cores goal. */
const PEER_RPS = 2836

interface Shape {
  name: string
  buyers: number
  stock: number
}
const SHAPES: Shape[] = PEER
  ? [{ name: 'peer 4k/1k', buyers: QUICK ? 1000 : 4000, stock: QUICK ? 250 : 1000 }]
  : [
      { name: 'most refused', buyers: BUYERS, stock: STOCK },
      { name: 'all accepted', buyers: ACCEPTED, stock: ACCEPTED },
    ]

interface Row {
  phase: Phase
  shape: string
  load: Load
  /** CPU ms per request by party, while the load ran. */
  cpu: Record<string, number>
  /** CPU ms per request by party, until every accepted order was persisted. */
  cpuAll: Record<string, number>
  checks: Record<string, boolean>
}

type Phase = 'baseline' | 'embedded' | 'tcp' | 'rest' | 'cluster'
const LABELS: Record<Phase, string> = {
  baseline: 'baseline (bare Lua, TCP)',
  embedded: 'app embedded',
  tcp: 'app on TCP Redis + PG',
  rest: 'app on REST/WS stand-ins',
  cluster: `app on TCP, ${WORKERS} workers`,
}

const perRequest = (cpu: Record<string, number>, requests: number) =>
  Object.fromEntries(Object.entries(cpu).map(([p, ms]) => [p, ms / requests]))

/** Runs `round` ROUNDS times and folds the rows into one: the median of every figure. */
async function rounds(roundOnce: (round: number) => Promise<Row>): Promise<Row> {
  const rows: Row[] = []
  for (let i = 0; i < ROUNDS; i++) rows.push(await roundOnce(i))
  if (rows.length === 1) return rows[0]!
  const rps = (r: Row) => r.load.requests / r.load.seconds
  const mid = [...rows].sort((a, b) => rps(a) - rps(b))[Math.floor(rows.length / 2)]!
  const med = (pick: (r: Row) => number) => median(rows.map(pick))
  const cpuMedian = (key: 'cpu' | 'cpuAll') =>
    Object.fromEntries(Object.keys(mid[key]).map((p) => [p, med((r) => r[key][p] ?? 0)]))
  return {
    ...mid,
    load: {
      ...mid.load,
      p50: med((r) => r.load.p50),
      p99: med((r) => r.load.p99),
      max: med((r) => r.load.max),
    },
    cpu: cpuMedian('cpu'),
    cpuAll: cpuMedian('cpuAll'),
    checks: Object.fromEntries(
      Object.keys(mid.checks).map((c) => [c, rows.every((r) => r.checks[c])])
    ),
  }
}

// ---- set-up helpers -------------------------------------------------------------------------

// ---- phases ---------------------------------------------------------------------------------

async function baselinePhase(): Promise<Row[]> {
  const rows: Row[] = []
  const prefix = `bench:${run}:base:`
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  try {
    for (const [n, shape] of SHAPES.entries()) {
      const row = await rounds(async (round) => {
        // Per shape and round: two shapes of the same stock must not share a sale.
        const keys = ['', ':buyers', ':orders', ':outbox', ':idem'].map(
          (s) => `${prefix}sk:{${n}s${shape.stock}r${round}}${s}`
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
          const warmUp = Array.from({ length: WARMUP }, () => 'warm-up')
          await load({ url, connections: CONNECTIONS, header: 'x-user', values: warmUp })
          const parties: Parties = {
            app: async () => [server.pid],
            redis: async () => [await redisServerPid()],
          }
          const before = await snapshot(parties)
          const result = await load({
            url,
            connections: CONNECTIONS,
            header: 'x-user',
            values: users,
          })
          const cpu = perRequest(cpuDelta(before, await snapshot(parties)), result.requests)
          const left = Number(await redis.hGet(keys[0]!, 'stock'))
          const orders = await redis.hLen(keys[2]!)
          const sold = Math.min(shape.stock - 1, shape.buyers)
          return {
            phase: 'baseline',
            shape: shape.name,
            load: result,
            cpu,
            cpuAll: cpu,
            checks: {
              'accepted == min(stock, buyers)': (result.codes['202'] ?? 0) === sold,
              'Redis: stock left and orders match (+ the warm-up order)':
                left === shape.stock - 1 - sold && orders === sold + 1,
            },
          }
        } finally {
          await server.stop()
        }
      })
      rows.push(row)
    }
  } finally {
    await redis.quit()
    await cleanRedis(prefix)
  }
  return rows
}

async function appPhase(kind: Exclude<Phase, 'baseline'>, databaseUrl?: string, database?: string) {
  const prefix = `bench:${run}:${kind}:`
  const port = await freePort()
  // cluster: the workers serve on `port`; the app-child beside them (set-up, audits) on its own.
  const clusterPort = kind === 'cluster' ? await freePort() : port
  const base = `http://127.0.0.1:${clusterPort}`
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
    stack = await startStandIns(databaseUrl!)
    const rest = kind === 'rest' ? 'rest' : 'tcp'
    appEnv = {
      ...appEnv,
      ...transportEnv(rest, stack.ready as Record<string, string>, databaseUrl!),
    }
  }
  let app: Child | undefined
  let workers: Child | undefined
  const rows: Row[] = []
  try {
    app = await startChild('scripts/bench/app-child.ts', appEnv)
    if (kind === 'cluster') {
      workers = await startChild('scripts/bench/cluster-child.ts', {
        ...appEnv,
        PORT: String(clusterPort),
        WEB_CONCURRENCY: String(WORKERS),
      })
    }
    const helper = app // (narrowed for the closures below)
    const cluster = workers
    const most = Math.max(...SHAPES.map((s) => s.buyers))
    const tokens = await helper.call<string[]>({ op: 'mint', from: 0, n: most + WARMUP })
    const warmTokens = tokens.splice(most)
    const parties: Parties = {
      app: async () => (cluster ? [cluster.pid, ...childrenOf(cluster.pid)] : [helper.pid]),
      ...(stack ? { 'stand-ins': async () => [stack!.pid] } : {}),
      ...(kind !== 'embedded'
        ? {
            redis: async () => [await redisServerPid()],
            postgres: () => postgresPids(database!),
          }
        : {}),
    }
    /** Waits until every order accepted in `sale` is persisted (another process's consumer). */
    const persisted = async (sale: string) => {
      for (;;) {
        await stack?.call({ op: 'idle' })
        if ((await helper.call<number | null>({ op: 'pending', voucherId: sale })) === 0) return
        await new Promise((r) => setTimeout(r, 200)) // (the poll itself: one O(1) read)
      }
    }
    for (const shape of SHAPES) {
      const warm = await createSale(base, ADMIN, WARMUP)
      await load({
        url: `${base}/vouchers/${warm}/seckill`,
        connections: CONNECTIONS,
        header: 'authorization',
        values: warmTokens,
      })
      await persisted(warm)
      const row = await rounds(async () => {
        const sale = await createSale(base, ADMIN, shape.stock)
        const before: Snapshot = await snapshot(parties)
        const result = await load({
          url: `${base}/vouchers/${sale}/seckill`,
          connections: CONNECTIONS,
          header: 'authorization',
          values: tokens.slice(0, shape.buyers),
        })
        const during = await snapshot(parties)
        await persisted(sale)
        const after = await snapshot(parties)
        const audit = await helper.call<{
          pending: number | null
          redisStock: number | null
          dbStock: number | null
          orders: number
          buyers: number
        }>({ op: 'audit', voucherId: sale })
        const accepted = result.codes['202'] ?? 0
        const sold = Math.min(shape.stock, shape.buyers)
        return {
          phase: kind,
          shape: shape.name,
          load: result,
          cpu: perRequest(cpuDelta(before, during), result.requests),
          cpuAll: perRequest(cpuDelta(before, after), result.requests),
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
        }
      })
      rows.push(row)
    }
  } finally {
    await workers?.stop()
    await app?.stop()
    await stack?.stop()
    await cleanRedis(prefix)
  }
  return rows
}

// ---- report ---------------------------------------------------------------------------------

const rpsOf = (r: Row) => r.load.requests / r.load.seconds

function report(rows: Row[]): boolean {
  const pad = (s: string, n: number) => s.padEnd(n)
  const num = (n: number, d = 0) => n.toFixed(d).padStart(8)
  console.log(
    `\n${pad('phase', 27)}${pad('shape', 14)}   req/s  ×base     p50     p99     max  requests       s`
  )
  let ok = true
  for (const r of rows) {
    const base = rows.find((b) => b.phase === 'baseline' && b.shape === r.shape)
    const ratio = base ? rpsOf(r) / rpsOf(base) : Number.NaN
    console.log(
      `${pad(LABELS[r.phase], 27)}${pad(r.shape, 14)}${num(rpsOf(r))}${num(ratio, 2)}${num(r.load.p50)}${num(r.load.p99)}${num(r.load.max)}${num(r.load.requests).padStart(10)}${num(r.load.seconds, 1)}`
    )
    console.log(`${' '.repeat(41)}CPU ms/req during load    ${cpuText(r.cpu)}`)
    if (r.phase !== 'baseline') {
      console.log(`${' '.repeat(41)}CPU ms/req w/ persistence ${cpuText(r.cpuAll)}`)
    }
    for (const [check, passed] of Object.entries(r.checks)) {
      if (!passed) console.log(`    FAIL ${check}  answers ${JSON.stringify(r.load.codes)}`)
      ok &&= passed
    }
  }
  console.log(ok ? '\nall invariants hold after every phase' : '\nINVARIANTS FAILED')
  goals(rows)
  return ok
}

/** The goals of issue 11, per load shape. */
function goals(rows: Row[]) {
  console.log(`\ngoals (issue 11)${QUICK ? ' — --quick: not a verdict' : ''}:`)
  for (const shape of SHAPES) {
    const at = (phase: Phase) => rows.find((r) => r.phase === phase && r.shape === shape.name)
    const [base, embedded, tcp, rest, cluster] = [
      at('baseline'),
      at('embedded'),
      at('tcp'),
      at('rest'),
      at('cluster'),
    ]
    const ms = (n: number) => `${n.toFixed(3)} ms`
    console.log(` ${shape.name}:`)
    goal(
      'TCP: app CPU ≤ 0.9 ms/req with persistence',
      tcp && ms(tcp.cpuAll.app ?? 0),
      tcp && (tcp.cpuAll.app ?? 0) <= 0.9
    )
    goal(
      'TCP: req/s ≥ 50 % of bare Lua, same run',
      tcp && base && `${((rpsOf(tcp) / rpsOf(base)) * 100).toFixed(0)} %`,
      tcp && base && rpsOf(tcp) >= 0.5 * rpsOf(base)
    )
    goal(
      'REST: app CPU ≤ 1.0 ms/req with persistence',
      rest && ms(rest.cpuAll.app ?? 0),
      rest && (rest.cpuAll.app ?? 0) <= 1.0
    )
    goal(
      'embedded: max ≤ 500 ms and p99 ≤ 50 ms',
      embedded && `max ${embedded.load.max} ms, p99 ${embedded.load.p99} ms`,
      embedded && embedded.load.max <= 500 && embedded.load.p99 <= 50
    )
    goal(
      `both cores (${WORKERS} workers): req/s > the peer's ${PEER_RPS}`,
      cluster && `${rpsOf(cluster).toFixed(0)} req/s`,
      cluster && rpsOf(cluster) > PEER_RPS
    )
  }
}

console.log(
  `seckill benchmark${QUICK ? ' (--quick: smoke run, numbers meaningless)' : ''}: ` +
    SHAPES.map((s) => `"${s.name}" ${s.buyers} buyers / stock ${s.stock}`).join(', ') +
    `, ${CONNECTIONS} connections, ${ROUNDS} round(s) (median), phases ${PHASES.join(', ')}`
)
const rows: Row[] = []
if (PHASES.includes('baseline')) rows.push(...(await baselinePhase()))
if (PHASES.includes('embedded')) rows.push(...(await appPhase('embedded')))
for (const kind of ['tcp', 'rest', 'cluster'] as const) {
  if (PHASES.includes(kind)) {
    rows.push(...(await withDatabase((url, name) => appPhase(kind, url, name))))
  }
}
process.exitCode = report(rows) ? 0 : 1
