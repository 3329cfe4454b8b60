/**
 * `npm run bench:persist`: the cost of persisting a flash-sale order, the way issue 11's consumer
 * does it, on node-postgres against a local Postgres — the old four-statement transaction (BEGIN;
 * INSERT … ON CONFLICT DO NOTHING RETURNING; UPDATE seckill_vouchers … stock > 0; COMMIT, kept
 * below as it was) against `DrizzleOrderRepository.persist` (one `seckill_persist` statement) and
 * group commit (`persistMany`: the persists of one turn in one `seckill_persist_many` statement).
 *
 * On a fresh database (dropped afterwards): BENCH_ORDERS (5,000) distinct orders on a sale of as
 * many units, sequentially and then BENCH_INFLIGHT (50) at a time, through one pg Pool of
 * BENCH_POOL (10, the app's default) connections; BENCH_ROUNDS (3) rounds alternating old and new,
 * after a warm-up of each. Reported per way and shape (medians of the rounds): this process's CPU
 * per persist (`process.cpuUsage`, user + system), the Postgres backends' CPU per persist (from
 * /proc; the pool's connections, opened before each run), wall time and persists per second. Every run must create every order and leave stock 0.
 */
import { and, eq, gt, sql } from 'drizzle-orm'
import pg from 'pg'
import { createDatabase, type Database } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { seckillVouchers, voucherOrders } from '../src/adapters/postgres/schema.ts'
import {
  DrizzleOrderRepository,
  DrizzleVoucherRepository,
} from '../src/adapters/postgres/seckill-repository.ts'
import type { Order } from '../src/domain/ports/vouchers.ts'
import { cpuMsOf, median, postgresPids, withDatabase } from './bench/common.ts'

const env = process.env
const ORDERS = Number(env.BENCH_ORDERS ?? 5_000)
const INFLIGHT = Number(env.BENCH_INFLIGHT ?? 50)
const POOL = Number(env.BENCH_POOL ?? 10)
const ROUNDS = Number(env.BENCH_ROUNDS ?? 3)
const WARMUP = 500

type PersistOne = (order: Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'>) => Promise<string>

/** The transaction persist used before migration 0005 (outcomes only). */
function transactionPersist(db: Database): PersistOne {
  return (order) =>
    db
      .transaction(async (tx) => {
        const id = BigInt(order.id)
        const voucherId = BigInt(order.voucherId)
        const [row] = await tx
          .insert(voucherOrders)
          .values({
            id,
            userId: BigInt(order.userId),
            voucherId,
            seq: order.seq,
            status: 'unpaid',
            createdAt: new Date(),
          })
          .onConflictDoNothing()
          .returning()
        if (!row) {
          const [existing] = await tx.select().from(voucherOrders).where(eq(voucherOrders.id, id))
          return existing ? 'exists' : 'duplicate'
        }
        const taken = await tx
          .update(seckillVouchers)
          .set({ stock: sql`${seckillVouchers.stock} - 1` })
          .where(and(eq(seckillVouchers.voucherId, voucherId), gt(seckillVouchers.stock, 0)))
          .returning({ stock: seckillVouchers.stock })
        if (taken.length === 0) throw new Error('sold out')
        return 'created'
      })
      .catch((e: Error) => (e.message === 'sold out' ? 'sold-out' : Promise.reject(e)))
}

function statementPersist(db: Database): PersistOne {
  const repo = new DrizzleOrderRepository(db)
  return async (order) => (await repo.persist(order, Date.now())).result
}

/**
 * Group commit as the app does it (`OrderBatcher` → one message → `persistMany`): the persists
 * asked for in one turn of the event loop go out as ONE `seckill_persist_many` statement.
 */
function groupPersist(db: Database): PersistOne {
  const repo = new DrizzleOrderRepository(db)
  type Waiter = {
    order: Parameters<PersistOne>[0]
    done: (result: string) => void
    fail: (e: unknown) => void
  }
  let waiting: Waiter[] = []
  const flush = async () => {
    const group = waiting
    waiting = []
    try {
      const results = await repo.persistMany(
        group.map((w) => ({ ...w.order, createdAt: Date.now() }))
      )
      for (const [i, w] of group.entries()) w.done(results[i]!.result)
    } catch (e) {
      for (const w of group) w.fail(e)
    }
  }
  return (order) =>
    new Promise((done, fail) => {
      if (waiting.length === 0) setImmediate(() => void flush())
      waiting.push({ order, done, fail })
    })
}

interface Figures {
  clientMs: number
  serverMs: number
  wallMs: number
  perSecond: number
}

await withDatabase(async (url, name) => {
  const handle = await createDatabase({ driver: 'node-postgres', url, max: POOL })
  try {
    await migrateDatabase(handle)
    const setup = new pg.Client({ connectionString: url })
    await setup.connect()
    await setup.query(`insert into shop_types (name) values ('bench')`)
    const {
      rows: [shop],
    } = await setup.query(`insert into shops (name, type_id, address, lng, lat)
      select 'bench', id, 'nowhere', 120, 30 from shop_types limit 1 returning id`)
    const { rows: users } = await setup.query(
      `insert into users (phone, nickname)
       select '+1555' || lpad(g::text, 7, '0'), 'b' from generate_series(1, $1) g returning id`,
      [ORDERS]
    )
    await setup.end()
    const userIds = users.map((u: { id: string }) => String(u.id))
    const vouchers = new DrizzleVoucherRepository(handle.db)
    const ways: Record<string, PersistOne> = {
      'old: 4-statement transaction': transactionPersist(handle.db),
      'new: one seckill_persist statement': statementPersist(handle.db),
      'group commit: one seckill_persist_many per turn': groupPersist(handle.db),
    }
    let nextId = 1n
    const start = Date.now()

    /** A fresh sale of `n` units and `n` persists of distinct buyers, `inflight` at a time. */
    async function run(persist: PersistOne, n: number, inflight: number): Promise<Figures> {
      const sale = await vouchers.create({
        shopId: String(shop.id),
        title: 'bench',
        subTitle: '',
        rules: '',
        payValue: 1,
        actualValue: 2,
        seckill: { stock: n, beginAt: start - 60_000, endAt: start + 3_600_000, perUserLimit: 1 },
      })
      const orders = Array.from({ length: n }, (_, i) => ({
        id: String(nextId++),
        userId: userIds[i]!,
        voucherId: sale.id,
        seq: 1,
      }))
      // Every pool connection open (an idle one closes after 10 s), so every backend is counted.
      await Promise.all(
        Array.from({ length: POOL }, () => handle.db.execute(sql`select pg_sleep(0.02)`))
      )
      const backends = await postgresPids(name)
      const serverBefore = backends.map(cpuMsOf)
      const cpuBefore = process.cpuUsage()
      const t0 = performance.now()
      const results: string[] = []
      let next = 0
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < n) results.push(await persist(orders[next++]!))
        })
      )
      const wallMs = performance.now() - t0
      const cpu = process.cpuUsage(cpuBefore)
      // A backend gone meanwhile (an idle connection closed) worked for nobody: left out.
      const serverMs = backends.reduce((ms, pid, i) => {
        const after = cpuMsOf(pid)
        return after === 0 ? ms : ms + after - serverBefore[i]!
      }, 0)
      const created = results.filter((r) => r === 'created').length
      const stock = (await vouchers.findById(sale.id))?.seckill?.stock
      if (created !== n || stock !== 0) throw new Error(`created ${created}/${n}, stock ${stock}`)
      return {
        clientMs: (cpu.user + cpu.system) / 1000 / n,
        serverMs: serverMs / n,
        wallMs,
        perSecond: (n / wallMs) * 1000,
      }
    }

    for (const persist of Object.values(ways)) await run(persist, WARMUP, INFLIGHT)
    const shapes = { sequential: 1, [`${INFLIGHT} in flight`]: INFLIGHT }
    const figures = new Map<string, Figures[]>()
    for (let round = 0; round < ROUNDS; round++) {
      for (const [shape, inflight] of Object.entries(shapes)) {
        for (const [way, persist] of Object.entries(ways)) {
          const key = `${shape} | ${way}`
          figures.set(key, [...(figures.get(key) ?? []), await run(persist, ORDERS, inflight)])
        }
      }
    }
    console.log(
      `${ORDERS} persists per run, pool ${POOL}, medians of ${ROUNDS} rounds; ` +
        `load average ${(await import('node:os')).loadavg().map((l) => l.toFixed(1))}`
    )
    console.log('| shape | way | client CPU ms/persist | Postgres CPU ms/persist | wall s | /s |')
    console.log('|---|---|---|---|---|---|')
    for (const [key, runs] of figures) {
      const m = (f: (x: Figures) => number) => median(runs.map(f))
      console.log(
        `| ${key} | ${m((x) => x.clientMs).toFixed(3)} | ` +
          `${m((x) => x.serverMs).toFixed(3)} | ${(m((x) => x.wallMs) / 1000).toFixed(2)} | ` +
          `${Math.round(m((x) => x.perSecond))} |`
      )
    }
  } finally {
    await handle.close()
  }
})
