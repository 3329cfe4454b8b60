/**
 * Benchmark child: the app (`startNodeServer`, as `npm start` runs it) in a process of its own,
 * driven over the IPC channel by scripts/bench-seckill.ts and scripts/bench-shops.ts. Setup work
 * (users, sessions, a sale) goes through the app's own adapters here, untimed; the load comes from
 * another process. The app gets one extra route, `GET /__bench/hello` (text "hello": the app's
 * middleware and nothing else), the baseline of bench:shops.
 *
 * Messages in:  { id, op: 'mint', from, n }       → { tokens: string[] }  (users + sessions)
 *               { id, op: 'pending', voucherId }  → orders accepted but not yet persisted
 *               { id, op: 'audit', voucherId }    → invariants' inputs after settling
 * Message out first: { ready: url, pid }
 * Env: the app's environment (BENCH_* are ignored by the app). BENCH_CPU_PROFILE=<dir>: a V8 CPU
 * profile of what runs between the end of a 'mint' (set-up) and the next 'audit' (warm-up, the
 * timed load, persistence), then from each 'audit' to the next: <dir>/app-<pid>-<n>.cpuprofile.
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { Session } from 'node:inspector/promises'
import { randomToken } from '../../src/adapters/system/random.ts'
import { startNodeServer } from '../../src/app/node.ts'

type Request =
  | { id: number; op: 'mint'; from: number; n: number }
  | { id: number; op: 'pending' | 'audit'; voucherId: string }

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

const profileDir = process.env.BENCH_CPU_PROFILE
const profiler = profileDir ? new Session() : null
let profiling = false
let profiles = 0
profiler?.connect()
await profiler?.post('Profiler.enable')

async function profile(op: Request['op']) {
  if (!profiler) return
  if (op === 'mint' && !profiling) {
    profiling = true
    await profiler.post('Profiler.start')
  } else if (op === 'audit' && profiling) {
    const { profile } = await profiler.post('Profiler.stop')
    mkdirSync(profileDir!, { recursive: true })
    writeFileSync(
      `${profileDir}/app-${process.pid}-${++profiles}.cpuprofile`,
      JSON.stringify(profile)
    )
    await profiler.post('Profiler.start') // the next round or shape
  }
}

process.on('message', (msg: Request) => {
  const work =
    msg.op === 'mint'
      ? mint(msg.from, msg.n)
      : msg.op === 'pending'
        ? pending(msg.voucherId)
        : audit(msg.voucherId)
  work.then(
    async (result) => {
      await profile(msg.op)
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
