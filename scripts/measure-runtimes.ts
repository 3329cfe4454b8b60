/**
 * `npm run measure:runtimes`: cold start and idle memory of the app on Node, Deno, Bun and workerd
 * (wrangler dev). Each runtime is started RUNS times against the local stand-ins (Upstash gateway →
 * Redis, QStash, Neon proxy → Postgres; a scratch database, dropped at the end) and measured:
 *   - first 200: from spawn until GET /health answers 200 (polled every 10 ms);
 *   - idle RSS: resident memory of the process tree after 200 warm-up requests and 2 s idle
 *     (wrangler dev: the workerd process alone, and the tree with wrangler's Node process).
 * Node, Deno and Bun are also started embedded (no env: in-memory Redis/queue, PGlite in memory,
 * demo data seeded), which is what `npm start` does on a fresh checkout.
 * Env: REDIS_URL, PG_ADMIN_URL as for `npm run stack`; RUNS (default 3); ONLY=workerd,bun (labels
 * starting with these).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import pg from 'pg'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { freePort } from '../test/harness/net.ts'
import { deleteByPrefix, directRedis } from '../test/harness/redis.ts'
import { startLocalStack } from '../test/stack/index.ts'

const env = process.env
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const adminUrl = env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const RUNS = Number(env.RUNS ?? 3)
const bin = (name: string) => new URL(`../node_modules/.bin/${name}`, import.meta.url).pathname
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const script = (name: string): string[] => pkg.scripts[name].split(/\s+/)

type Runtime = 'node' | 'deno' | 'bun' | 'workerd'

function command(
  runtime: Runtime,
  port: number,
  inspector: number,
  vars: Record<string, string>
): string[] {
  if (runtime === 'node') return script('start')
  if (runtime === 'deno') return script('start:deno')
  if (runtime === 'bun') return script('start:bun')
  return [
    'wrangler',
    'dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--log-level',
    'warn',
    ...Object.entries({ ...vars, PUBLIC_URL: `http://127.0.0.1:${port}` }).flatMap(([k, v]) => [
      '--var',
      `${k}:${v}`,
    ]),
  ]
}

/** Resident set sizes (KiB) of a process and its descendants, by command name. */
function treeRss(root: number): { total: number; byName: Record<string, number> } {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)])
    } catch {}
  }
  const byName: Record<string, number> = {}
  let total = 0
  const visit = (pid: number) => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8')
      const name = /^Name:\s+(.+)$/m.exec(status)?.[1] ?? '?'
      const rss = Number(/^VmRSS:\s+(\d+)/m.exec(status)?.[1] ?? 0)
      byName[name] = (byName[name] ?? 0) + rss
      total += rss
    } catch {}
    for (const c of children.get(pid) ?? []) visit(c)
  }
  visit(root)
  return { total, byName }
}

async function firstOk(url: string, child: ChildProcess, started: number): Promise<number> {
  for (;;) {
    if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}`)
    if (performance.now() - started > 120_000) throw new Error('no 200 from /health in 120 s')
    try {
      const res = await fetch(url)
      await res.arrayBuffer()
      if (res.status === 200) return performance.now() - started
    } catch {}
    await new Promise((r) => setTimeout(r, 10))
  }
}

async function measure(runtime: Runtime, vars: Record<string, string>) {
  const [port, inspector] = [await freePort(), await freePort()]
  const [cmd, ...args] = command(runtime, port, inspector, vars)
  const started = performance.now()
  const child = spawn(bin(cmd!), args, {
    env: {
      PATH: `${bin('')}:${env.PATH}`,
      HOME: env.HOME ?? '/tmp',
      WRANGLER_SEND_METRICS: 'false',
      CI: 'true',
      DENO_NO_UPDATE_CHECK: '1',
      ...vars,
      PUBLIC_URL: `http://127.0.0.1:${port}`,
      LOG_LEVEL: 'warn',
      PORT: String(port),
    },
    cwd: new URL('..', import.meta.url).pathname,
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  })
  let stderr = ''
  child.stderr!.on('data', (d) => {
    stderr += d
  })
  try {
    const coldMs = await firstOk(`http://127.0.0.1:${port}/health`, child, started)
    for (let i = 0; i < 20; i++) {
      await Promise.all(
        Array.from({ length: 10 }, () =>
          fetch(`http://127.0.0.1:${port}/shops/1`).then((r) => r.arrayBuffer())
        )
      )
    }
    await new Promise((r) => setTimeout(r, 2000))
    return { coldMs, rss: treeRss(child.pid!) }
  } catch (e) {
    throw new Error(`${runtime}: ${(e as Error).message}\n${stderr.slice(-2000)}`)
  } finally {
    process.kill(-child.pid!, 'SIGKILL')
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
const mib = (kib: number) => `${(kib / 1024).toFixed(0)} MiB`

async function main() {
  const dbName = `edge_measure_${Date.now()}`
  const admin = new pg.Client({ connectionString: adminUrl })
  await admin.connect()
  await admin.query(`create database "${dbName}"`)
  const url = new URL(adminUrl)
  url.pathname = `/${dbName}`
  const stack = await startLocalStack({ redisUrl, databaseUrl: url.toString() })
  const prefix = `measure:${Date.now()}:`
  try {
    const handle = await createDatabase({
      driver: 'neon-serverless',
      url: url.toString(),
      localProxy: stack.neon.address,
    })
    await migrateDatabase(handle)
    await handle.close()
    const cloud = {
      ...stack.env,
      APP_ENV: 'test',
      REDIS_KEY_PREFIX: prefix,
      SEED_DEMO_DATA: 'false',
    }
    const cases: [string, Runtime, Record<string, string>][] = [
      ['node (stand-ins)', 'node', cloud],
      ['deno (stand-ins)', 'deno', cloud],
      ['bun (stand-ins)', 'bun', cloud],
      ['workerd: wrangler dev (stand-ins)', 'workerd', cloud],
      ['node (embedded)', 'node', { DATA_DIR: ':memory:' }],
      ['deno (embedded)', 'deno', { DATA_DIR: ':memory:' }],
      ['bun (embedded)', 'bun', { DATA_DIR: ':memory:' }],
    ]
    console.log(`| runtime | first 200 (median of ${RUNS}) | idle RSS |`)
    console.log('| --- | --- | --- |')
    const only = env.ONLY?.split(',')
    for (const [label, runtime, vars] of cases) {
      if (only && !only.some((o) => label.startsWith(o))) continue
      const runs = []
      for (let i = 0; i < RUNS; i++) runs.push(await measure(runtime, vars))
      const rss = runs.at(-1)!.rss
      const detail =
        runtime === 'workerd'
          ? `${mib(rss.byName.workerd ?? 0)} workerd (${mib(rss.total)} with wrangler)`
          : mib(rss.total)
      console.log(`| ${label} | ${median(runs.map((r) => r.coldMs)).toFixed(0)} ms | ${detail} |`)
    }
  } finally {
    await stack.close()
    const redis = await directRedis()
    await deleteByPrefix(redis, prefix)
    await redis.quit()
    await admin.query(`drop database if exists "${dbName}" with (force)`)
    await admin.end()
  }
}

await main()
