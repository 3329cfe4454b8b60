/**
 * "Cron work never blocks request handling for more than a few ms", proven by counting work, not
 * by timing it: the embedded mode (in-memory ledger, PGlite, in-process queue, everything on one
 * thread) with a 100,000-order sale, and the app's own cron jobs (`appJobs`: relay, reconcile with
 * its overdue cancellations, fan-out sweep) run as the timer runs them. Every call the jobs make
 * on the ledger, the order and voucher repositories and the queue adds its size (1 + the items it
 * takes and returns) to a meter; a macrotask ticker — what a waiting request is — reads and resets
 * the meter on every turn of the event loop. The largest reading is the most work the jobs did
 * without letting a request in: bounded by the jobs' chunk (JOB_CHUNK), whatever the sale's size.
 * Without the pauses one tick's whole batch (1,000 orders each way) lands in a single turn.
 */
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { analyzeGrownTables } from '../src/adapters/postgres/analyze.ts'
import { createDatabase, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { type Container, createContainer, type Deps } from '../src/app/deps.ts'
import { runJobs } from '../src/app/jobs.ts'
import { appJobs, appTopics } from '../src/app/modules.ts'
import { seckillDeps } from '../src/app/routes/seckill.ts'
import type { Queue } from '../src/domain/ports/queue.ts'
import { RECONCILE_BATCH } from '../src/domain/seckill/reconcile.ts'
import { JOB_CHUNK, loadSale } from '../src/domain/seckill/seckill.ts'

const ORDERS = 100_000
const STALE_PENDING = 300
const MIN = 60_000

let handle: DatabaseHandle
let container: Container
let deps: Deps
let voucherId: string
const clock = new ManualClock(Date.now())
const published: string[] = []

/** The in-process queue stands aside: the test counts what the jobs publish, nothing is delivered. */
const recordingQueue: Queue = {
  publish: async (topic) => {
    published.push(topic)
    return { messageId: `m${published.length}`, deduplicated: false }
  },
  publishBatch: async (items) =>
    items.map((it) => {
      published.push(it.topic)
      return { messageId: `m${published.length}`, deduplicated: false }
    }),
}

beforeAll(async () => {
  container = await createContainer(
    { APP_ENV: 'test', LOG_LEVEL: 'error', ORDER_PAY_TIMEOUT: '5m', RECONCILE_GRACE: '1m' },
    {
      databasePerRequest: false,
      requireCloudServices: false,
      embeddedDatabase: async () => (handle = await createDatabase({ driver: 'pglite' })),
      prepareDatabase: (h) => migrateDatabase(h),
    },
    { clock, topics: appTopics, decorate: { queue: () => recordingQueue } }
  )
  deps = (await container.scope()).deps
  voucherId = await bulkLoad(handle, clock.now())
  await loadSale(seckillDeps(deps), voucherId)
  // Reservations whose persist message was lost: the relay and reconciliation republish them.
  for (let i = 0; i < STALE_PENDING; i++) {
    const r = await deps.ledger.reserve({
      voucherId,
      userId: `${9_000_000 + i}`,
      orderId: `${i + 1}`,
    })
    expect(r.kind).toBe('accepted')
  }
  await clock.advance(2 * MIN)
}, 300_000)

afterAll(() => container?.close())

it('runs the cron on a 100,000-order sale in chunks: no turn of the event loop does more than a chunk per job', async () => {
  const meter = { since: 0, max: 0, total: 0, turns: 0, longestMs: 0 }
  const metered = meterDeps(deps, (units) => {
    meter.since += units
    meter.total += units
  })
  // The ticker: one macrotask per turn of the event loop, like a request waiting for its turn.
  let ticking = true
  let last = performance.now()
  const tick = () => {
    const now = performance.now()
    meter.longestMs = Math.max(meter.longestMs, now - last) // reported, never asserted
    last = now
    meter.max = Math.max(meter.max, meter.since)
    meter.since = 0
    meter.turns += 1
    if (ticking) setImmediate(tick)
  }
  setImmediate(tick)
  const results: unknown[] = []
  const meteredContainer: Container = {
    ...container,
    scope: async () => ({ deps: metered, finish: async () => {} }),
    log: {
      ...container.log,
      info: (_msg: string, fields?: Record<string, unknown>) => void results.push(fields?.result),
    },
  } as Container
  for (let t = 0; t < 3; t++) await runJobs(meteredContainer, appJobs, 'test')
  ticking = false
  meter.max = Math.max(meter.max, meter.since)

  // The jobs did their work: overdue orders cancelled, lost messages republished, sales covered.
  const cancelled = await handle.db.execute(
    sql`select count(*)::int as n from voucher_orders where voucher_id = ${voucherId} and status = 'cancelled' and cancelled_at is not null`
  )
  expect(published.filter((t) => t === 'orders.persist').length).toBeGreaterThanOrEqual(
    STALE_PENDING
  )
  expect(meter.total).toBeGreaterThan(3 * 2 * RECONCILE_BATCH)
  expect(rowsOf<{ n: number }>(cancelled)[0]!.n).toBeGreaterThan(ORDERS / 20) // the bulk's own + 3 × 500 overdue

  // The bound: the three jobs run concurrently, each does at most one chunk per turn, and a chunk
  // of reconciliation touches at most ~5 × JOB_CHUNK items (rows read, records read, repairs).
  const bound = appJobs.length * (5 * JOB_CHUNK + 10)
  console.log(
    `cron on ${ORDERS} orders, 3 ticks: ${meter.total} units of work in ${meter.turns} turns, ` +
      `at most ${meter.max} in one turn (bound ${bound}); longest turn ${meter.longestMs.toFixed(1)} ms (busy machine, not asserted)`
  )
  expect(meter.max).toBeLessThanOrEqual(bound)
  expect(meter.turns).toBeGreaterThan((3 * (2 * RECONCILE_BATCH)) / JOB_CHUNK)
}, 300_000)

function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? result) as T[]
}

/** The jobs' ports, each call reporting its size: 1 + array items taken + array items returned. */
function meterDeps(d: Deps, add: (units: number) => void): Deps {
  const size = (v: unknown): number =>
    Array.isArray(v)
      ? v.length
      : v && typeof v === 'object' && Array.isArray((v as { reservations?: unknown }).reservations)
        ? (v as { reservations: unknown[] }).reservations.length
        : 0
  const wrap = <T extends object>(target: T): T =>
    new Proxy(target, {
      get(obj, prop) {
        const value = Reflect.get(obj, prop)
        if (typeof value !== 'function') return value
        return (...args: unknown[]) => {
          const out = value.apply(obj, args)
          const taken = 1 + args.reduce<number>((n, a) => n + size(a), 0)
          if (!(out instanceof Promise)) {
            add(taken + size(out))
            return out
          }
          return out.then((r: unknown) => {
            add(taken + size(r))
            return r
          })
        }
      },
    })
  return {
    ...d,
    ledger: wrap(d.ledger),
    orders: wrap(d.orders),
    vouchers: wrap(d.vouchers),
    queue: wrap(d.queue),
    blogs: wrap(d.blogs),
  }
}

/** Users, a shop, the sale and ORDERS orders in a few set-based statements (as bench:reconcile). */
async function bulkLoad(h: DatabaseHandle, now: number): Promise<string> {
  const db = h.db
  await db.execute(sql`insert into shop_types (name) values ('bench')`)
  await db.execute(
    sql`insert into shops (name, type_id, address, lng, lat) select 'bench', id, 'nowhere', 120, 30 from shop_types limit 1`
  )
  await db.execute(
    sql`insert into users (phone, nickname) select '+1555' || lpad(g::text, 7, '0'), 'b' from generate_series(1, ${ORDERS}) g`
  )
  const v = rowsOf<{ id: string }>(
    await db.execute(
      sql`insert into vouchers (shop_id, title, pay_value, actual_value, kind) select id, 'bench', 100, 1000, 'seckill' from shops limit 1 returning id`
    )
  )[0]!
  const id = String(v.id)
  // Every 20th cancelled, every 50th failed, a third of the rest paid, the others unpaid; all
  // persisted 10 minutes ago (past the 5-minute payment timeout: the cron cancels 500 per run).
  await db.execute(sql`
    insert into voucher_orders (id, user_id, voucher_id, seq, status, created_at, paid_at, cancelled_at)
    select 7000000000000000000 + g, u.id, ${id}, 1,
           case when g % 20 = 0 then 'cancelled' when g % 50 = 1 then 'failed'
                when g % 3 = 0 then 'paid' else 'unpaid' end,
           to_timestamp((${now}::bigint - 600000 + g) / 1000.0),
           case when g % 3 = 0 and g % 20 <> 0 and g % 50 <> 1 then to_timestamp(${now}::bigint / 1000.0) end,
           case when g % 20 = 0 then to_timestamp(${now}::bigint / 1000.0) end
    from generate_series(1, ${ORDERS}) g
    join users u on u.phone = '+1555' || lpad(g::text, 7, '0')`)
  const live = rowsOf<{ n: number }>(
    await db.execute(
      sql`select count(*)::int as n from voucher_orders where voucher_id = ${id} and status in ('unpaid', 'paid')`
    )
  )[0]!.n
  const initial = ORDERS + 1000
  await db.execute(sql`
    insert into seckill_vouchers (voucher_id, stock, initial_stock, begin_at, end_at, per_user_limit)
    values (${id}, ${initial - live}, ${initial},
            to_timestamp(${now - 120 * MIN}::bigint / 1000.0), to_timestamp(${now + 60 * MIN}::bigint / 1000.0), 1)`)
  // What the embedded host's `pglite-analyze` job does (PGlite has no autovacuum); without it
  // reconciliation's keyset reads plan as a scan and sort of the whole sale (~100 ms each).
  const analyzed = await analyzeGrownTables(h, async () => {})
  expect(analyzed).toEqual(expect.arrayContaining(['users', 'voucher_orders']))
  expect(await analyzeGrownTables(h, async () => {})).toEqual([]) // nothing grew since
  return id
}
