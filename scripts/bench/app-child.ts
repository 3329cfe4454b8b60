/**
 * Benchmark child: the app (`startNodeServer`, as `npm start` runs it) in a process of its own,
 * driven over the IPC channel by scripts/bench-seckill.ts and scripts/bench-shops.ts. Setup work
 * (users, sessions, a sale) goes through the app's own adapters here, untimed; the load comes from
 * another process. The app gets one extra route, `GET /__bench/hello` (text "hello": the app's
 * middleware and nothing else), the baseline of bench:shops.
 *
 * Messages in:  { id, op: 'mint', from, n }       → { tokens: string[] }  (users + sessions)
 *               { id, op: 'users', from, n }      → { ids: string[] }     (users only)
 *               { id, op: 'profile', file? }      → starts the V8 CPU profiler, or (with file)
 *                                                   stops it and writes the .cpuprofile there
 *               { id, op: 'pending', voucherId }  → orders accepted but not yet persisted
 *               { id, op: 'audit', voucherId }    → invariants' inputs after settling
 * Message out first: { ready: url, pid }
 * Env: the app's environment (BENCH_* are ignored by the app). BENCH_CPU_PROFILE=<dir> profiles
 * without a 'profile' op: from the end of the first 'mint' (set-up) to the next 'audit' (warm-up,
 * timed load, persistence), then from each 'audit' to the next: <dir>/app-<pid>-<n>.cpuprofile.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { randomToken } from '../../src/adapters/system/random.ts'
import { startNodeServer } from '../../src/app/node.ts'

type Request =
  | { id: number; op: 'mint' | 'users'; from: number; n: number }
  | { id: number; op: 'pending' | 'audit'; voucherId: string }
  | { id: number; op: 'profile'; file?: string }

const server = await startNodeServer({
  port: Number(process.env.PORT ?? 0),
  env: process.env,
  jobsEveryMs: 0,
  extendApp: (app) => app.get('/__bench/hello', (c) => c.text('hello')),
})
const scope = await server.container.scope()
const deps = scope.deps

async function mint(from: number, n: number): Promise<string[]> {
  const tokens: string[] = []
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, async (_, j) => {
      const phone = `+1555${String(from + i + j).padStart(7, '0')}`
      const { user } = await deps.users.findOrCreateByPhone(phone, 'b')
      const token = randomToken()
      await deps.sessions.create(token, { id: user.id, nickname: 'b', icon: '' }, 3_600_000)
      return `Bearer ${token}`
    })
    tokens.push(...(await Promise.all(batch)))
  }
  return tokens
}

async function users(from: number, n: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < n; i += 250) {
    const batch = Array.from({ length: Math.min(250, n - i) }, async (_, j) => {
      const phone = `+1556${String(from + i + j).padStart(7, '0')}`
      return (await deps.users.findOrCreateByPhone(phone, 'd')).user.id
    })
    ids.push(...(await Promise.all(batch)))
  }
  return ids
}

let inspector: Session | undefined
async function profile(file?: string) {
  if (!file) {
    inspector = new Session()
    inspector.connect()
    await inspector.post('Profiler.enable')
    await inspector.post('Profiler.start')
    return true
  }
  const { profile } = await inspector!.post('Profiler.stop')
  writeFileSync(file, JSON.stringify(profile))
  inspector!.disconnect()
  inspector = undefined
  return file
}

async function pending(voucherId: string) {
  await server.container.settle()
  return (await deps.ledger.counters(voucherId))?.pending ?? null
}

async function audit(voucherId: string) {
  await server.container.settle()
  const [ledger, voucher, orders] = await Promise.all([
    deps.ledger.audit(voucherId, false),
    deps.vouchers.findById(voucherId),
    deps.orders.listByVoucher(voucherId),
  ])
  return {
    pending: ledger?.pending ?? null,
    redisStock: ledger?.stock ?? null,
    dbStock: voucher?.seckill?.stock ?? null,
    orders: orders.length,
    buyers: new Set(orders.map((o) => o.userId)).size,
  }
}

function perform(msg: Request): Promise<unknown> {
  switch (msg.op) {
    case 'mint':
      return mint(msg.from, msg.n)
    case 'users':
      return users(msg.from, msg.n)
    case 'profile':
      return profile(msg.file)
    case 'pending':
      return pending(msg.voucherId)
    case 'audit':
      return audit(msg.voucherId)
  }
}

const profileDir = process.env.BENCH_CPU_PROFILE
let profiles = 0

/** BENCH_CPU_PROFILE: starts the profiler after set-up, writes a profile at every audit. */
async function autoProfile(op: Request['op']) {
  if (!profileDir) return
  if (op === 'mint' && !inspector) {
    await profile()
  } else if (op === 'audit' && inspector) {
    mkdirSync(profileDir, { recursive: true })
    await profile(`${profileDir}/app-${process.pid}-${++profiles}.cpuprofile`)
    await profile() // the next round or shape
  }
}

process.on('message', (msg: Request) => {
  const work = perform(msg)
  work.then(
    async (result) => {
      await autoProfile(msg.op)
      process.send!({ id: msg.id, result })
    },
    (e: unknown) => process.send!({ id: msg.id, error: String((e as Error)?.stack ?? e) })
  )
})
process.once('disconnect', async () => {
  await scope.finish()
  await server.close()
  process.exit(0)
})
process.send!({ ready: server.url, pid: process.pid })
