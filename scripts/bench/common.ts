/**
 * What scripts/bench-seckill.ts and scripts/bench-shops.ts share: child processes driven over IPC
 * (the app, the stand-ins, the load generator each in a process of its own), CPU time per party
 * from /proc, and the scratch database and Redis keys a phase uses.
 */
import { type ChildProcess, fork } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import pg from 'pg'
import { createClient } from 'redis'

export const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
export const adminUrl = process.env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const CLK_TCK = 100

/** The value after `name` in argv, if present. */
export function option(argv: string[], name: string): string | undefined {
  const at = argv.indexOf(name)
  return at === -1 ? undefined : argv[at + 1]
}

// ---- processes ------------------------------------------------------------------------------

export interface Child {
  proc: ChildProcess
  pid: number
  ready: unknown
  call<T>(msg: Record<string, unknown>): Promise<T>
  stop(): Promise<void>
}

/**
 * Forks `script` and waits for its first message `{ ready, pid }`; later messages `{ id, result |
 * error }` answer `call`s. `stop` disconnects (the child's cue to close) and waits for the exit.
 */
export async function startChild(script: string, childEnv: Record<string, string>): Promise<Child> {
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
      const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    },
  }
}

/** One load run (scripts/bench/load-child.ts). */
export interface LoadJob {
  url: string
  connections: number
  /** Default POST. */
  method?: 'GET' | 'POST'
  /** One request per value, each carrying `header: value`. */
  header?: string
  values?: string[]
  /** Without values: send for this long (seconds). */
  seconds?: number
  /** Every answer's body must equal this (else counted in `mismatches`). */
  expectBody?: string
}

export interface Load {
  /** On the load child's own clock. */
  seconds: number
  requests: number
  errors: number
  mismatches: number
  codes: Record<string, number>
  p50: number
  p99: number
  max: number
}

/** Runs one load in its own process; resolves with its measurements. */
export async function load(job: LoadJob): Promise<Load> {
  const proc = fork('scripts/bench/load-child.ts', [], { stdio: 'inherit' })
  const result = new Promise<Load>((resolve, reject) => {
    proc.once('message', (m) => resolve(m as Load))
    proc.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
  })
  proc.send(job)
  const out = await result
  await new Promise((r) => (proc.exitCode === null ? proc.once('exit', r) : r(null)))
  return out
}

/** A flash sale of `stock` that runs for the next hour, created through the admin API. */
export async function createSale(
  base: string,
  adminToken: string,
  stock: number,
  title = 'bench'
): Promise<string> {
  const now = Date.now()
  const res = await fetch(`${base}/vouchers/seckill`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      shopId: '1',
      title,
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

// ---- CPU time from /proc --------------------------------------------------------------------

/** A `/proc/…/stat` file: the name in parentheses and the fields after it (undefined: gone). */
function readStat(path: string): { name: string; fields: string[] } | undefined {
  try {
    const stat = readFileSync(path, 'utf8')
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    return { name, fields: stat.slice(stat.lastIndexOf(')') + 2).split(' ') }
  } catch {
    return undefined // the process or thread is gone
  }
}

const statFields = (pid: number) => readStat(`/proc/${pid}/stat`)?.fields
const cpuMsOfFields = (f: string[]) => ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK

/** User + system CPU time of one process, ms (0 once it is gone). */
export function cpuMsOf(pid: number): number {
  const fields = statFields(pid)
  return fields ? cpuMsOfFields(fields) : 0
}

/** CPU ms of each thread of `pid`, summed by thread name (the main thread: `MainThread` on Node 24). */
export function threadsCpuOf(pid: number): Record<string, number> {
  const out: Record<string, number> = {}
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const stat = readStat(`/proc/${pid}/task/${tid}/stat`)
    if (stat) out[stat.name] = (out[stat.name] ?? 0) + cpuMsOfFields(stat.fields)
  }
  return out
}

/** The pids whose parent is `pid` (a cluster primary's workers). */
export function childrenOf(pid: number): number[] {
  const out: number[] = []
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue
    if (Number(statFields(Number(name))?.[1]) === pid) out.push(Number(name))
  }
  return out
}

/** Parties → their pids, re-read at each snapshot (Postgres backends come and go). */
export type Parties = Record<string, () => Promise<number[]>>
export type Snapshot = Map<string, Map<number, number>>

export async function snapshot(parties: Parties): Promise<Snapshot> {
  const out: Snapshot = new Map()
  for (const [name, pids] of Object.entries(parties)) {
    out.set(name, new Map((await pids()).map((pid) => [pid, cpuMsOf(pid)])))
  }
  return out
}

/** CPU ms per party between two snapshots (processes present in both). */
export function cpuDelta(before: Snapshot, after: Snapshot): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [name, pids] of after) {
    let ms = 0
    for (const [pid, t] of pids) ms += t - (before.get(name)?.get(pid) ?? t)
    out[name] = ms
  }
  return out
}

export async function redisServerPid(): Promise<number> {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  const info = await redis.info('server')
  await redis.quit()
  return Number(/process_id:(\d+)/.exec(info)?.[1] ?? 0)
}

export async function postgresPids(database: string): Promise<number[]> {
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

/**
 * The app's environment on a transport, from the stand-ins' (scripts/bench/stack-child.ts): `rest`
 * is theirs (Upstash gateway, Neon proxy, QStash); `tcp` is Redis and Postgres over TCP with the
 * QStash stand-in.
 */
export function transportEnv(
  kind: 'tcp' | 'rest',
  stackEnv: Record<string, string>,
  databaseUrl: string
): Record<string, string> {
  if (kind === 'rest') return stackEnv
  const { QSTASH_URL, QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY } = stackEnv
  return {
    ...{ QSTASH_URL, QSTASH_TOKEN, QSTASH_CURRENT_SIGNING_KEY, QSTASH_NEXT_SIGNING_KEY },
    REDIS_URL: redisUrl,
    DATABASE_URL: databaseUrl,
  } as Record<string, string>
}

/** Starts the stand-ins (their own process) on local Redis and this database. */
export function startStandIns(databaseUrl: string): Promise<Child> {
  return startChild('scripts/bench/stack-child.ts', {
    BENCH_REDIS_URL: redisUrl,
    BENCH_DATABASE_URL: databaseUrl,
  })
}

// ---- scratch database and keys --------------------------------------------------------------

/** Runs `work` on a fresh database, dropped afterwards. */
export async function withDatabase<T>(work: (url: string, name: string) => Promise<T>): Promise<T> {
  const name = `bench_${Date.now()}_${Math.floor(Math.random() * 1e6)}`
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

export async function cleanRedis(prefix: string) {
  const redis = createClient({ url: redisUrl })
  await redis.connect()
  for await (const keys of redis.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) {
    if (keys.length) await redis.unlink(keys)
  }
  await redis.quit()
}

// ---- report ---------------------------------------------------------------------------------

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/** "0.123 (app 0.100, redis 0.023)": CPU ms per request, all parties and each. */
export function cpuText(cpuPerRequest: Record<string, number>): string {
  const total = Object.values(cpuPerRequest).reduce((a, b) => a + b, 0)
  const per = Object.entries(cpuPerRequest).map(([p, ms]) => `${p} ${ms.toFixed(3)}`)
  return `${total.toFixed(3)} (${per.join(', ')})`
}

/** One goal line: PASS/FAIL with the figure, or SKIP when its phase did not run. */
export function goal(text: string, figure: string | undefined, passed: boolean | undefined) {
  const verdict = passed === undefined ? 'SKIP' : passed ? 'PASS' : 'FAIL'
  console.log(`  ${verdict}  ${text}${figure === undefined ? ' (phase not run)' : `: ${figure}`}`)
}
