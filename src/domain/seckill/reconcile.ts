import type { Reservation, SaleAudit } from '../ports/stock.ts'
import {
  cancelOverdue,
  ledgerStateOf,
  loadSale,
  publishPersist,
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
 * Postgres orders by id with their ledger records (one round trip), one HSCAN step of the ledger
 * for records Postgres does not have, and the database stock in one unlocked snapshot. With
 * `repair` it brings Redis in line with Postgres (each transition re-checks atomically) and both
 * stock counters in line with the orders. Never walks a whole sale in one call, never holds a lock
 * while reading, and leaves pending reservations younger than `graceMs` to the consumer: Postgres
 * is read before the ledger, and an order is reserved in the ledger before it is persisted, so a
 * fresh order can only look pending, never unknown.
 */
export async function reconcileSale(
  deps: SeckillDeps,
  voucherId: string,
  opts: { repair: boolean; graceMs: number; batch?: number }
): Promise<SaleReport> {
  const batch = opts.batch ?? RECONCILE_BATCH
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

  // Postgres → ledger: the next batch of orders by id, with their records in one round trip.
  const orders = await deps.orders.listByVoucherAfter(voucherId, pgCursor, batch)
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
    if (opts.repair) {
      await deps.ledger.transition(voucherId, o.id, want, 'any', {
        userId: o.userId,
        seq: o.seq,
        acceptedAt: o.createdAt,
      })
    }
  }

  // Ledger → Postgres: one scan step, for records Postgres does not have.
  const step = await deps.ledger.scan(voucherId, scanCursor, batch)
  const suspects = step.reservations.filter((r) => r.state !== 'failed' && !young(r))
  const known = new Set(
    (await deps.orders.findByIds(suspects.map((r) => r.orderId))).map((o) => o.id)
  )
  for (const r of suspects) {
    if (known.has(r.orderId)) continue
    if (r.state === 'pending') {
      drifts.push({ orderId: r.orderId, kind: 'pending-not-persisted' })
      if (opts.repair) {
        const { orderId, userId, seq, acceptedAt } = r
        await publishPersist(deps, { orderId, voucherId, userId, seq, acceptedAt })
      }
      continue
    }
    // Committed or cancelled in Redis but unknown to Postgres: the order does not exist.
    drifts.push({ orderId: r.orderId, kind: `${r.state}->absent` })
    if (opts.repair) await deps.ledger.transition(voucherId, r.orderId, 'failed', 'any')
  }

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
  const nextPg = orders.length < batch ? '' : orders.at(-1)!.id
  await deps.ledger.setCursor(voucherId, `${nextPg}|${step.next}`)
  return { voucherId, drifts, ledger, database, repaired: opts.repair && drifts.length > 0 }
}

/** Reconciles one sale, or every sale whose Redis keys may still exist. */
export async function reconcile(
  deps: SeckillDeps,
  opts: { repair: boolean; graceMs: number; voucherId?: string; batch?: number }
): Promise<ReconcileReport> {
  const ids = opts.voucherId
    ? [opts.voucherId]
    : (await deps.vouchers.listSeckillEndingAfter(deps.clock.now() - deps.policy.retentionMs)).map(
        (v) => v.id
      )
  const overdue = await cancelOverdue(deps, { ...opts, limit: OVERDUE_BATCH })
  const sales: SaleReport[] = []
  for (const id of ids) sales.push(await reconcileSale(deps, id, opts))
  const drift = overdue.overdue > 0 || sales.some((s) => s.drifts.length > 0)
  return { checkedAt: deps.clock.now(), drift, sales, overdue }
}
