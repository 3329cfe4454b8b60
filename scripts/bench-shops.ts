/**
 * `npm run bench:shops [-- --quick] [-- --transports embedded,tcp,rest] [-- --seconds N]
 * [-- --rounds N] [-- --connections N]`: a cached `GET /shops/{id}` next to the hello-world route
 * of the same app in the same run (`GET /__bench/hello`: the app's middleware — request id, CORS,
 * security headers, access log, dependency scope — and a text body; scripts/bench/app-child.ts),
 * per transport:
 *
 *   embedded  in-memory Redis, PGlite
 *   tcp       Redis over TCP (REDIS_URL), Postgres over TCP (pg)
 *   rest      @upstash/redis (undici pool) → Upstash gateway stand-in → Redis, Neon driver → proxy
 *
 * For each transport two app processes, one after the other: "L1 on" (the isolate-local cache,
 * CACHE_L1_TTL 1 s: nearly every read is served from memory) and "L1 off" (CACHE_L1_MAX_ENTRIES=0:
 * every read goes to Redis — the GET and the Bloom lookup in one pipelined request). In each, the
 * hello route then `GET /shops/1`, each ratio taken against the hello of the same process.
 *
 * Every party runs in a process of its own: the app, the stand-ins (scripts/bench/stack-child.ts:
 * gateway, Neon proxy, QStash), the load generator (autocannon, scripts/bench/load-child.ts). Per
 * target: one request to check it and take its body; an untimed warm-up (of both targets before
 * either is timed); then the timed run (≥ 10 s by default, on the load child's own clock) with CPU
 * time per party read from /proc around it (app, stand-ins, redis-server, the database's Postgres
 * backends). Afterwards: every answer 200,
 * no socket errors, every body equal to the first (and, for the shop, the same in both processes).
 * With --rounds N the targets alternate N times per process and each figure is the median.
 * The goal of issue 11 is printed last: Redis hit with the L1 off on TCP ≥ 40 % of hello.
 *
 * --quick: 2-s runs, 1-s warm-ups (a smoke run; numbers meaningless). Redis and Postgres are the
 * local shared ones (a fresh database, keys under a per-run prefix, both removed afterwards).
 * Env: REDIS_URL (redis://127.0.0.1:6379), PG_ADMIN_URL (postgres://postgres@127.0.0.1:5432/postgres).
 */
import { freePort } from '../test/harness/net.ts'
import {
  type Child,
  cleanRedis,
  cpuDelta,
  cpuText,
  goal,
  type Load,
  load,
  median,
  option,
  type Parties,
  postgresPids,
  redisServerPid,
  snapshot,
  startChild,
  startStandIns,
  transportEnv,
  withDatabase,
} from './bench/common.ts'

const argv = process.argv.slice(2)
const QUICK = argv.includes('--quick')
const SECONDS = Number(option(argv, '--seconds') ?? (QUICK ? 2 : 10))
const WARMUP_SECONDS = QUICK ? 1 : 3
const ROUNDS = Number(option(argv, '--rounds') ?? 1)
const CONNECTIONS = Number(option(argv, '--connections') ?? 50)
const TRANSPORTS = (option(argv, '--transports') || 'embedded,tcp,rest').split(',') as Transport[]
const run = `${Date.now()}`
const GOAL_RATIO = 0.4

type Transport = 'embedded' | 'tcp' | 'rest'
const LABELS: Record<Transport, string> = {
  embedded: 'embedded (memory Redis, PGlite)',
  tcp: 'TCP (RESP → Redis, pg → Postgres)',
  rest: 'REST (gateway → Redis, proxy → Postgres)',
}

interface Row {
  transport: Transport
  target: string
  /** The hello route of the same process (undefined for the hello rows themselves). */
  hello?: Row
  load: Load
  /** CPU ms per request by party. */
  cpu: Record<string, number>
  checks: Record<string, boolean>
}

const rps = (l: Load) => l.requests / l.seconds

/** A shop body without `updatedAt` (each embedded process seeds its own PGlite at start). */
function shopFields(body: string): string {
  const { updatedAt: _, ...shop } = JSON.parse(body) as { updatedAt?: number; id?: unknown }
  return JSON.stringify(shop)
}

/** The body every answer of `url` must carry: the first answer's (which must be a 200). */
async function firstBody(url: string): Promise<string> {
  const res = await fetch(url)
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${body}`)
  return body
}

const warmUp = (url: string) =>
  load({ url, method: 'GET', connections: CONNECTIONS, seconds: WARMUP_SECONDS })

/** One timed run of a target, with CPU per party around it. */
async function measure(url: string, body: string, parties: Parties) {
  const before = await snapshot(parties)
  const result = await load({
    url,
    method: 'GET',
    connections: CONNECTIONS,
    seconds: SECONDS,
    expectBody: body,
  })
  const cpu = cpuDelta(before, await snapshot(parties))
  return {
    load: result,
    cpu: Object.fromEntries(Object.entries(cpu).map(([p, ms]) => [p, ms / result.requests])),
    checks: {
      'every answer 200, no socket errors':
        result.errors === 0 && Object.keys(result.codes).every((c) => c === '200'),
      'every body as the first answer': result.mismatches === 0,
    },
  }
}

/** Medians of the rounds (the round with the median req/s for requests and seconds). */
function fold(rows: Omit<Row, 'transport' | 'target' | 'hello'>[]) {
  if (rows.length === 1) return rows[0]!
  const mid = [...rows].sort((a, b) => rps(a.load) - rps(b.load))[Math.floor(rows.length / 2)]!
  const med = (pick: (r: (typeof rows)[number]) => number) => median(rows.map(pick))
  return {
    load: {
      ...mid.load,
      p50: med((r) => r.load.p50),
      p99: med((r) => r.load.p99),
      max: med((r) => r.load.max),
    },
    cpu: Object.fromEntries(Object.keys(mid.cpu).map((p) => [p, med((r) => r.cpu[p] ?? 0)])),
    checks: Object.fromEntries(
      Object.keys(mid.checks).map((c) => [c, rows.every((r) => r.checks[c])])
    ),
  }
}

async function transportPhase(kind: Transport, databaseUrl?: string, database?: string) {
  const prefix = `bench:${run}:shops:${kind}:`
  let stack: Child | undefined
  let env: Record<string, string> = {
    APP_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: ':memory:',
    SEED_DEMO_DATA: 'true',
    REDIS_KEY_PREFIX: prefix,
  }
  const rows: Row[] = []
  let shopBody: string | undefined
  try {
    if (kind !== 'embedded') {
      stack = await startStandIns(databaseUrl!)
      env = { ...env, ...transportEnv(kind, stack.ready as Record<string, string>, databaseUrl!) }
    }
    for (const l1 of ['on', 'off'] as const) {
      const port = await freePort()
      const base = `http://127.0.0.1:${port}`
      const app = await startChild('scripts/bench/app-child.ts', {
        ...env,
        PORT: String(port),
        PUBLIC_URL: base,
        ...(l1 === 'off' ? { CACHE_L1_MAX_ENTRIES: '0' } : {}),
      })
      try {
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
        const helloUrl = `${base}/__bench/hello`
        const shopUrl = `${base}/shops/1`
        const helloBody = await firstBody(helloUrl)
        const body = await firstBody(shopUrl)
        shopBody ??= body
        // Untimed warm-up of both targets before timing either (JIT, pools, caches).
        await warmUp(helloUrl)
        await warmUp(shopUrl)
        const hellos = []
        const shops = []
        for (let round = 0; round < ROUNDS; round++) {
          hellos.push(await measure(helloUrl, helloBody, parties))
          shops.push(await measure(shopUrl, body, parties))
        }
        const hello: Row = { transport: kind, target: `hello (L1 ${l1})`, ...fold(hellos) }
        const shop = fold(shops)
        rows.push(hello, {
          transport: kind,
          target: l1 === 'on' ? 'GET /shops/1, L1 hit' : 'GET /shops/1, Redis hit (L1 off)',
          hello,
          ...shop,
          checks: {
            ...shop.checks,
            'the body is shop 1': String((JSON.parse(body) as { id?: unknown }).id) === '1',
            'the same shop with the L1 on and off': shopFields(body) === shopFields(shopBody),
          },
        })
      } finally {
        await app.stop()
      }
    }
  } finally {
    await stack?.stop()
    if (kind !== 'embedded') await cleanRedis(prefix)
  }
  return rows
}

function report(rows: Row[]): boolean {
  const pad = (s: string, n: number) => s.padEnd(n)
  const num = (n: number, d = 0) => n.toFixed(d).padStart(8)
  let ok = true
  for (const kind of TRANSPORTS) {
    console.log(
      `\n${LABELS[kind]}\n${pad('route', 34)}   req/s  ×hello     p50     p99     max  requests       s   CPU ms/req`
    )
    for (const r of rows.filter((x) => x.transport === kind)) {
      const ratio = r.hello ? `${((rps(r.load) / rps(r.hello.load)) * 100).toFixed(0)} %` : ''
      console.log(
        `${pad(r.target, 34)}${num(rps(r.load))}${ratio.padStart(8)}${num(r.load.p50)}${num(r.load.p99)}${num(r.load.max)}${num(r.load.requests).padStart(10)}${num(r.load.seconds, 1)}   ${cpuText(r.cpu)}`
      )
      for (const [check, passed] of Object.entries(r.checks)) {
        if (!passed) {
          console.log(
            `    FAIL ${check}: answers ${JSON.stringify(r.load.codes)}, ${r.load.errors} errors, ${r.load.mismatches} other bodies`
          )
        }
        ok &&= passed
      }
    }
  }
  console.log(ok ? '\nevery answer 200 with the expected body' : '\nCHECKS FAILED')
  const tcp = rows.find((r) => r.transport === 'tcp' && r.hello && r.target.includes('L1 off'))
  const ratio = tcp && rps(tcp.load) / rps(tcp.hello!.load)
  console.log(`\ngoal (issue 11)${QUICK ? ' — --quick: not a verdict' : ''}:`)
  goal(
    `TCP: Redis hit with the L1 off ≥ ${GOAL_RATIO * 100} % of hello`,
    ratio === undefined ? undefined : `${(ratio * 100).toFixed(0)} %`,
    ratio === undefined ? undefined : ratio >= GOAL_RATIO
  )
  return ok
}

console.log(
  `shops benchmark${QUICK ? ' (--quick: smoke run, numbers meaningless)' : ''}: ` +
    `${CONNECTIONS} connections, ${SECONDS} s per target after ${WARMUP_SECONDS} s of warm-up, ` +
    `${ROUNDS} round(s) (median), transports ${TRANSPORTS.join(', ')}, Node ${process.version}`
)
const rows: Row[] = []
for (const kind of TRANSPORTS) {
  if (kind === 'embedded') rows.push(...(await transportPhase(kind)))
  else rows.push(...(await withDatabase((url, name) => transportPhase(kind, url, name))))
}
process.exitCode = report(rows) ? 0 : 1
