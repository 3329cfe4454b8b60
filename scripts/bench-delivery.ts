/**
 * `node scripts/bench-delivery.ts [--orders N] [--rounds N] [--connections N] [--profile DIR]`:
 * CPU per signed queue delivery — the persist message of an accepted flash-sale order arriving at
 * POST /internal/queue/orders.persist as QStash delivers it (Upstash-Signature JWT signed with the
 * stand-in's current key, over HTTP/1.1 keep-alive) — for the app on TCP Redis + TCP Postgres with
 * the QStash stand-in, each party in a process of its own (scripts/bench/).
 *
 * Per round: a fresh sale with stock N and N users (untimed), N persist messages signed beforehand
 * exactly as test/stack/qstash-protocol.ts signs deliveries, then the timed part: every delivery
 * POSTed by this process with --connections (8) in flight. Reported per delivery: the app's CPU
 * (from /proc), this client's CPU (process.cpuUsage, sending only: signing is done before), and
 * Redis / Postgres / stand-ins. Checked: every answer 200, N orders in Postgres from N buyers,
 * Postgres stock 0. --profile DIR writes a V8 CPU profile of the app for each round's timed part.
 * Env: REDIS_URL, PG_ADMIN_URL (as bench:seckill).
 */
import { Pool } from 'undici'
import { randomToken } from '../src/adapters/system/random.ts'
import { freePort } from '../test/harness/net.ts'
import { signQStashJwt } from '../test/stack/qstash-protocol.ts'
import {
  cleanRedis,
  cpuDelta,
  createSale,
  median,
  option,
  type Parties,
  postgresPids,
  redisServerPid,
  snapshot,
  startChild,
  startStandIns,
  threadsCpuOf,
  transportEnv,
  withDatabase,
} from './bench/common.ts'

const argv = process.argv.slice(2)
const ORDERS = Number(option(argv, '--orders') ?? 2000)
const ROUNDS = Number(option(argv, '--rounds') ?? 3)
const CONNECTIONS = Number(option(argv, '--connections') ?? 8)
const PROFILE = option(argv, '--profile')
const ADMIN = randomToken(24)
const prefix = `bench:${Date.now()}:delivery:`

await withDatabase(async (databaseUrl, database) => {
  const stack = await startStandIns(databaseUrl)
  const stackEnv = stack.ready as Record<string, string>
  const port = await freePort()
  const base = `http://127.0.0.1:${port}`
  const app = await startChild('scripts/bench/app-child.ts', {
    PORT: String(port),
    APP_ENV: 'test',
    LOG_LEVEL: 'warn',
    DATA_DIR: ':memory:',
    PUBLIC_URL: base,
    ADMIN_TOKEN: ADMIN,
    SEED_DEMO_DATA: 'true',
    REDIS_KEY_PREFIX: prefix,
    ...transportEnv('tcp', stackEnv, databaseUrl),
  })
  const pool = new Pool(base, { connections: CONNECTIONS, pipelining: 1 })
  const parties: Parties = {
    app: async () => [app.pid],
    'stand-ins': async () => [stack.pid],
    redis: async () => [await redisServerPid()],
    postgres: () => postgresPids(database),
  }
  const path = '/internal/queue/orders.persist'
  const rows: Record<string, number>[] = []
  try {
    for (let round = -1; round < ROUNDS; round++) {
      // round -1: warm-up (JIT, connections, the sale's ledger load path), not reported.
      const n = round < 0 ? Math.min(500, ORDERS) : ORDERS
      const sale = await createSale(base, ADMIN, n, 'bench-delivery')
      const users = await app.call<string[]>({ op: 'users', from: (round + 1) * ORDERS, n })
      const now = Date.now()
      const deliveries = await Promise.all(
        users.map(async (userId, i) => {
          const body = JSON.stringify({
            orderId: String(BigInt(now) * 1_000_000n + BigInt(i)),
            voucherId: sale,
            userId,
            seq: 1,
            acceptedAt: now,
          })
          const signature = await signQStashJwt(stackEnv.QSTASH_CURRENT_SIGNING_KEY!, {
            sub: `${base}${path}`,
            body,
          })
          return { body, signature, messageId: `msg_${sale}_${i}` }
        })
      )
      const codes: Record<number, number> = {}
      if (PROFILE && round >= 0) await app.call({ op: 'profile' })
      const before = await snapshot(parties)
      const threadsBefore = threadsCpuOf(app.pid)
      const client = process.cpuUsage()
      const started = performance.now()
      let next = 0
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (next < deliveries.length) {
            const d = deliveries[next++]!
            const res = await pool.request({
              method: 'POST',
              path,
              headers: {
                'content-type': 'application/json',
                'upstash-signature': d.signature,
                'upstash-message-id': d.messageId,
                'upstash-retried': '0',
                'user-agent': 'Upstash-QStash',
              },
              body: d.body,
            })
            await res.body.dump()
            codes[res.statusCode] = (codes[res.statusCode] ?? 0) + 1
          }
        })
      )
      const seconds = (performance.now() - started) / 1000
      const used = process.cpuUsage(client)
      await app.call({ op: 'pending', voucherId: sale }) // settles the app's background work
      const cpu = cpuDelta(before, await snapshot(parties))
      const threads = Object.entries(threadsCpuOf(app.pid))
        .map(([name, ms]) => [name, (ms - (threadsBefore[name] ?? 0)) / n] as const)
        .filter(([, ms]) => ms > 0)
      if (PROFILE && round >= 0) {
        await app.call({ op: 'profile', file: `${PROFILE}/delivery-round${round}.cpuprofile` })
      }
      const audit = await app.call<{ orders: number; buyers: number; dbStock: number }>({
        op: 'audit',
        voucherId: sale,
      })
      const ok = codes[200] === n && audit.orders === n && audit.buyers === n && audit.dbStock === 0
      if (!ok) throw new Error(`round ${round}: ${JSON.stringify({ codes, audit })}`)
      if (round < 0) continue
      const per = (ms: number) => ms / n
      const row = {
        app: per(cpu.app!),
        client: per((used.user + used.system) / 1000),
        'stand-ins': per(cpu['stand-ins']!),
        redis: per(cpu.redis!),
        postgres: per(cpu.postgres!),
        'deliveries/s': n / seconds,
      }
      rows.push(row)
      console.log(
        `round ${round + 1}: ${n} deliveries, all 200, ${n} orders persisted; CPU ms per delivery ${Object.entries(
          row
        )
          .filter(([k]) => k !== 'deliveries/s')
          .map(([k, v]) => `${k} ${v.toFixed(3)}`)
          .join(', ')}; ${row['deliveries/s'].toFixed(0)} deliveries/s; app threads ${threads
          .map(([name, ms]) => `${name} ${ms.toFixed(3)}`)
          .join(', ')}`
      )
    }
    const keys = Object.keys(rows[0]!)
    console.log(
      `median of ${ROUNDS}: ${keys.map((k) => `${k} ${median(rows.map((r) => r[k]!)).toFixed(k === 'deliveries/s' ? 0 : 3)}`).join(', ')}`
    )
  } finally {
    await pool.close()
    await app.stop()
    await stack.stop()
    await cleanRedis(prefix)
  }
})
