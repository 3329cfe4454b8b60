/**
 * `npm run bench:reconcile`: how much one cron tick of flash-sale reconciliation costs on a big
 * sale. Bulk-loads a sale with BENCH_ORDERS orders (default 100 000) into a fresh Postgres database
 * (plain SQL, `generate_series`), loads its Redis ledger the way the app does (`loadSale`, through
 * the Upstash gateway → the local Redis), then times the cron's seckill jobs (relay + reconcile,
 * repair on) for BENCH_TICKS ticks and reads Redis's SLOWLOG for the longest single command of
 * this run (our key prefix). Finally it checks that reconciliation found no drift (the data set is
 * consistent) and prints everything as JSON.
 *
 * SLOWLOG only records commands slower than the server's `slowlog-log-slower-than` (10 ms by
 * default; the script does not change the shared server's config), so "none" means every script
 * of the run took less than that.
 *
 * Env: BENCH_ORDERS (100000), BENCH_TICKS (3), REDIS_URL, PG_ADMIN_URL.
 */
import pg from 'pg'
import { createClient } from 'redis'
import { createDatabase } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import {
  DrizzleOrderRepository,
  DrizzleVoucherRepository,
} from '../src/adapters/postgres/seckill-repository.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { scripts } from '../src/adapters/upstash/scripts.gen.ts'
import { UpstashStockLedger } from '../src/adapters/upstash/stock-ledger.ts'
import type { Queue } from '../src/domain/ports/queue.ts'
import { reconcile } from '../src/domain/seckill/reconcile.ts'
import { loadSale, relayOutbox, type SeckillDeps } from '../src/domain/seckill/seckill.ts'
import { startLocalStack } from '../test/stack/index.ts'

const env = process.env
const ORDERS = Number(env.BENCH_ORDERS ?? 100_000)
const TICKS = Number(env.BENCH_TICKS ?? 3)
const redisUrl = env.REDIS_URL ?? 'redis://127.0.0.1:6379'
const adminUrl = env.PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'
const run = `${Date.now()}`
const prefix = `benchrec:${run}:`
const MIN = 60_000

const ms = (t0: number) => Math.round(performance.now() - t0)

/** Users, a shop, the sale and ORDERS orders in a few set-based statements. */
async function bulkLoad(client: pg.Client, now: number): Promise<string> {
  const t0 = performance.now()
  await client.query(`insert into shop_types (name) values ('bench')`)
  await client.query(
    `insert into shops (name, type_id, address, lng, lat)
     select 'bench', id, 'nowhere', 120, 30 from shop_types limit 1`
  )
  await client.query(
    `insert into users (phone, nickname)
     select '+1555' || lpad(g::text, 7, '0'), 'b' from generate_series(1, $1) g`,
    [ORDERS]
  )
  const {
    rows: [v],
  } = await client.query(
    `insert into vouchers (shop_id, title, pay_value, actual_value, kind)
     select id, 'bench', 100, 1000, 'seckill' from shops limit 1 returning id`
  )
  const voucherId = String(v.id)
  // Orders: every 20th cancelled, every 50th failed, a third of the rest paid; persisted 10 min
  // ago (older than the grace period, within the payment timeout), in a sale that is still open.
  await client.query(
    `insert into voucher_orders (id, user_id, voucher_id, seq, status, created_at, paid_at, cancelled_at)
     select 7000000000000000000 + g, u.id, $1, 1,
            case when g % 20 = 0 then 'cancelled' when g % 50 = 1 then 'failed'
                 when g % 3 = 0 then 'paid' else 'unpaid' end,
            to_timestamp(($2::bigint - 600000 + g) / 1000.0),
            case when g % 3 = 0 and g % 20 <> 0 and g % 50 <> 1 then to_timestamp($2::bigint / 1000.0) end,
            case when g % 20 = 0 then to_timestamp($2::bigint / 1000.0) end
     from generate_series(1, $3) g
     join users u on u.phone = '+1555' || lpad(g::text, 7, '0')`,
    [voucherId, now, ORDERS]
  )
  const {
    rows: [live],
  } = await client.query(
    `select count(*)::int as n from voucher_orders where voucher_id = $1 and status in ('unpaid', 'paid')`,
    [voucherId]
  )
  const initial = ORDERS + 1000
  await client.query(
    `insert into seckill_vouchers (voucher_id, stock, initial_stock, begin_at, end_at, per_user_limit)
     values ($1, $2, $3, to_timestamp($4::bigint / 1000.0), to_timestamp($5::bigint / 1000.0), 1)`,
    [voucherId, initial - live.n, initial, now - 2 * 60 * MIN, now + 60 * MIN]
  )
  await client.query('analyze')
  console.error(`bulk load: ${ORDERS} orders in ${ms(t0)} ms`)
  return voucherId
}

interface SlowEntry {
  id: number
  micros: number
  args: string[]
}

async function slowlog(send: (args: string[]) => Promise<unknown>): Promise<SlowEntry[]> {
  const raw = (await send(['SLOWLOG', 'GET', '128'])) as unknown[][]
  return raw.map((e) => ({
    id: Number(e[0]),
    micros: Number(e[2]),
    args: (e[3] as unknown[]).map(String),
  }))
}

/** 'evalsha <sha> …' → 'evalsha seckillAudit'. */
function describe(args: string[]): string {
  const byHash = Object.entries(scripts).find(([, v]) => v.sha1 === args[1])
  return `${args[0]} ${byHash ? byHash[0] : (args[1] ?? '')}`
}

const name = `bench_rec_${run}`
const admin = new pg.Client({ connectionString: adminUrl })
await admin.connect()
await admin.query(`create database ${name}`)
const url = new URL(adminUrl)
url.pathname = `/${name}`
const databaseUrl = url.toString()
const stack = await startLocalStack({ redisUrl, databaseUrl })
const db = await createDatabase({
  driver: 'neon-serverless',
  url: databaseUrl,
  localProxy: stack.neon.address,
})
const direct = createClient({ url: redisUrl })
await direct.connect()
try {
  await migrateDatabase(db)
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  const clock = new SystemClock()
  const voucherId = await bulkLoad(client, clock.now()).finally(() => client.end())

  const redis = createUpstashRedis({ url: stack.gateway.url, token: stack.gateway.token })
  let published = 0
  const queue: Queue = {
    publish: async () => {
      published += 1
      return { messageId: `m${published}`, deduplicated: false }
    },
    publishBatch: async (items) =>
      items.map(() => {
        published += 1
        return { messageId: `m${published}`, deduplicated: false }
      }),
  }
  const deps: SeckillDeps = {
    clock,
    ledger: new UpstashStockLedger(redis, clock, prefix, { retentionMs: 86_400_000 }),
    vouchers: new DrizzleVoucherRepository(db.db),
    orders: new DrizzleOrderRepository(db.db),
    queue,
    background: () => {},
    policy: {
      retentionMs: 86_400_000,
      payTimeoutMs: 15 * MIN,
      relayAfterMs: 30_000,
      persistRetries: 3,
      persistBatch: 100,
      saleLimit: null,
    },
  }
  let t0 = performance.now()
  await loadSale(deps, voucherId)
  const loadMs = ms(t0)

  const [lastBefore] = await slowlog((a) => direct.sendCommand(a))
  const ticks: { ms: number; drift: boolean }[] = []
  for (let i = 0; i < TICKS; i++) {
    t0 = performance.now()
    const [, report] = await Promise.all([
      relayOutbox(deps),
      reconcile(deps, { repair: true, graceMs: 5 * MIN }),
    ])
    ticks.push({ ms: ms(t0), drift: report.drift })
    if (report.drift) console.error(JSON.stringify(report).slice(0, 2000))
  }
  const ours = (await slowlog((a) => direct.sendCommand(a))).filter(
    (e) => e.id > (lastBefore?.id ?? -1) && e.args.some((a) => a.startsWith(prefix))
  )
  const longest = ours.reduce<SlowEntry | null>((a, b) => (a && a.micros >= b.micros ? a : b), null)
  const sorted = ticks.map((t) => t.ms).sort((a, b) => a - b)
  console.log(
    JSON.stringify(
      {
        orders: ORDERS,
        ledgerLoadMs: loadMs,
        ticks: ticks.length,
        tickMs: {
          min: sorted[0],
          median: sorted[Math.floor(sorted.length / 2)],
          max: sorted.at(-1),
        },
        driftReported: ticks.some((t) => t.drift),
        slowlogThresholdMicros: Number(
          (await direct.configGet('slowlog-log-slower-than'))['slowlog-log-slower-than']
        ),
        slowCommandsOfThisRun: ours.length,
        longestCommand: longest
          ? { ms: longest.micros / 1000, command: describe(longest.args) }
          : 'none above the threshold',
        note: 'taken on a shared, busy 2-core machine',
      },
      null,
      2
    )
  )
} catch (e) {
  console.error(e)
  process.exitCode = 1
} finally {
  const keys: string[] = []
  for await (const batch of direct.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 }))
    keys.push(...(Array.isArray(batch) ? batch : [batch]))
  if (keys.length > 0) await direct.del(keys)
  await direct.quit()
  await db.close()
  await stack.close()
  await admin.query(`drop database if exists ${name} with (force)`)
  await admin.end()
}
