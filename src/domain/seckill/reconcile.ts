import { DependencyUnavailable } from '../errors.ts'
import type { Reservation, SaleAudit } from '../ports/stock.ts'
import type { Order } from '../ports/vouchers.ts'
import {
  cancelOverdue,
  JOB_CHUNK,
  ledgerStateOf,
  loadSale,
  pause,
  republish,
  type SeckillDeps,
} from './seckill.ts'

export interface Drift {
  orderId?: string
  /** e.g. 'pending->committed' (ledger state -> state Postgres implies), 'stock', 'buyers' */
  kind: string
  detail?: string
}

export interface SaleReport {
  voucherId: string
  drifts: Drift[]
  ledger: SaleAudit | null
  database: { stock: number; expected: number } | null
  repaired: boolean
}

export interface ReconcileReport {
  checkedAt: number
  drift: boolean
  sales: SaleReport[]
  /** Unpaid orders past ORDER_PAY_TIMEOUT + grace found (at most a batch) and cancelled. */
  overdue: { overdue: number; cancelled: number }
}

/** Overdue unpaid orders cancelled per run (the next run takes the rest). */
const OVERDUE_BATCH = 500

/** Orders checked per sale and cron tick on each side (Postgres by id, the ledger by HSCAN). */
export const RECONCILE_BATCH = 1_000

/**
 * One bounded step of reconciling a sale's Redis ledger with Postgres; successive calls (cron
 * ticks) cover the whole sale and start over. Each step reads O(1) counters, the next `batch`
 * Postgres orders by id with their ledger records, `batch` records of the ledger by HSCAN steps
 * for records Postgres does not have — both `chunk` (JOB_CHUNK) at a time, one round trip per side
 * and chunk, pausing (`deps.pacer`) between chunks — and the database stock in one unlocked
 * snapshot. With
 * `repair` it brings Redis in line with Postgres (each transition re-checks atomically) and both
 * stock counters in line with the orders. Never walks a whole sale in one call, never holds a lock
 * while reading, and leaves pending reservations younger than `graceMs` to the consumer: Postgres
 * is read before the ledger, and an order is reserved in the ledger before it is persisted, so a
 * fresh order can only look pending, never unknown.
 */
export async function reconcileSale(
  deps: SeckillDeps,
  voucherId: string,
  opts: { repair: boolean; graceMs: number; batch?: number; chunk?: number }
): Promise<SaleReport> {
  const batch = opts.batch ?? RECONCILE_BATCH
  const chunk = Math.max(1, Math.min(batch, opts.chunk ?? JOB_CHUNK))
  const drifts: Drift[] = []
  const now = deps.clock.now()
  let counters = await deps.ledger.counters(voucherId)
  if (!counters) {
    drifts.push({ kind: 'not-loaded' })
    if (!opts.repair) return { voucherId, drifts, ledger: null, database: null, repaired: false }
    await loadSale(deps, voucherId)
    counters = await deps.ledger.counters(voucherId)
  }
  const [pgCursor = '', scanCursor = '0'] = (counters?.cursor ?? '').split('|')
  const young = (r: Reservation) => r.state === 'pending' && now - r.acceptedAt < opts.graceMs

  // Postgres → ledger: the next batch of orders by id, `chunk` at a time (each with its ledger
  // records in one round trip), pausing between chunks.
  let pgNext = pgCursor
  for (let read = 0; read < batch; ) {
    const want = Math.min(chunk, batch - read)
    const orders = await deps.orders.listByVoucherAfter(voucherId, pgNext, want)
    read += orders.length
    pgNext = orders.length < want ? '' : orders.at(-1)!.id
    await comparePostgres(deps, voucherId, orders, young, drifts, opts.repair)
    if (pgNext === '') break
    await pause(deps)
  }

  // Ledger → Postgres: scan steps of `chunk` (`batch` in all), for records Postgres does not have.
  let scanNext = scanCursor
  for (let steps = Math.ceil(batch / chunk); steps > 0; steps--) {
    await pause(deps)
    const step = await deps.ledger.scan(voucherId, scanNext, chunk)
    scanNext = step.next
    await compareLedger(deps, voucherId, step.reservations, young, drifts, opts.repair)
    if (scanNext === '0') break
  }
  await pause(deps)

  // Counters: stock against the per-state counts, read together in O(1).
  const after = await deps.ledger.counters(voucherId)
  const ledger: SaleAudit | null = after && {
    stock: after.stock,
    expectedStock: after.initialStock - after.pending - after.committed,
    buyersOff: 0,
    pending: after.pending,
    committed: after.committed,
    cancelled: after.cancelled,
    failed: after.failed,
  }
  if (after && !after.counted) {
    // Loaded before the counters were kept: one full audit repair sets them (once per sale).
    drifts.push({ kind: 'ledger-counters-missing' })
    if (opts.repair) await deps.ledger.audit(voucherId, true)
  } else if (ledger && ledger.stock !== ledger.expectedStock) {
    drifts.push({ kind: 'ledger-stock', detail: `${ledger.stock} != ${ledger.expectedStock}` })
    if (opts.repair) await deps.ledger.fixStock(voucherId)
  }
  const database = await deps.orders.auditStock(voucherId, opts.repair)
  if (database && database.stock !== database.expected) {
    drifts.push({ kind: 'database-stock', detail: `${database.stock} != ${database.expected}` })
  }
  await deps.ledger.setCursor(voucherId, `${pgNext}|${scanNext}`)
  return { voucherId, drifts, ledger, database, repaired: opts.repair && drifts.length > 0 }
}

/** Reconciles one sale, or every sale whose Redis keys may still exist. */
export async function reconcile(
  deps: SeckillDeps,
  opts: { repair: boolean; graceMs: number; voucherId?: string; batch?: number; chunk?: number }
): Promise<ReconcileReport> {
  const ids = opts.voucherId
    ? [opts.voucherId]
    : (await deps.vouchers.listSeckillEndingAfter(deps.clock.now() - deps.policy.retentionMs)).map(
        (v) => v.id
      )
  const overdue = await cancelOverdue(deps, { ...opts, limit: OVERDUE_BATCH })
  const sales: SaleReport[] = []
  for (const id of ids) {
    await pause(deps)
    sales.push(await reconcileSale(deps, id, opts))
  }
  const drift = overdue.overdue > 0 || sales.some((s) => s.drifts.length > 0)
  return { checkedAt: deps.clock.now(), drift, sales, overdue }
}

/** Postgres orders against their ledger records (one round trip); repairs the ledger. */
async function comparePostgres(
  deps: SeckillDeps,
  voucherId: string,
  orders: readonly Order[],
  young: (r: Reservation) => boolean,
  drifts: Drift[],
  repair: boolean
) {
  const records = await deps.ledger.records(
    voucherId,
    orders.map((o) => o.id)
  )
  for (const [i, o] of orders.entries()) {
    const r = records[i] ?? null
    const want = ledgerStateOf(o.status)
    const have = r?.state ?? 'unknown'
    if (have === want || (want === 'failed' && have === 'unknown')) continue
    if (r && young(r)) continue
    drifts.push({ orderId: o.id, kind: `${have}->${want}` })
    if (repair) {
      await deps.ledger.transition(voucherId, o.id, want, 'any', {
        userId: o.userId,
        seq: o.seq,
        acceptedAt: o.createdAt,
      })
    }
  }
}

/** Ledger records against Postgres, for records Postgres does not have; republishes or fails them. */
async function compareLedger(
  deps: SeckillDeps,
  voucherId: string,
  reservations: readonly Reservation[],
  young: (r: Reservation) => boolean,
  drifts: Drift[],
  repair: boolean
) {
  const suspects = reservations.filter((r) => r.state !== 'failed' && !young(r))
  if (suspects.length === 0) return
  const known = new Set(
    (await deps.orders.findByIds(suspects.map((r) => r.orderId))).map((o) => o.id)
  )
  const unpersisted: Reservation[] = []
  for (const r of suspects) {
    if (known.has(r.orderId)) continue
    if (r.state === 'pending') {
      drifts.push({ orderId: r.orderId, kind: 'pending-not-persisted' })
      unpersisted.push(r)
      continue
    }
    // Committed or cancelled in Redis but unknown to Postgres: the order does not exist.
    drifts.push({ orderId: r.orderId, kind: `${r.state}->absent` })
    if (repair) await deps.ledger.transition(voucherId, r.orderId, 'failed', 'any')
  }
  if (repair && (await republish(deps, voucherId, unpersisted)) < unpersisted.length) {
    throw new DependencyUnavailable('queue') // the rest stay pending: the next run sends them
  }
}
