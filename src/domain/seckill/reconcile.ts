import type { LedgerState, SaleAudit } from '../ports/stock.ts'
import { cancelOverdue, loadSale, publishPersist, type SeckillDeps } from './seckill.ts'

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

const LIVE = new Set(['unpaid', 'paid'])

/**
 * Compares one sale's Redis ledger (stock, buyers, outbox, order states) with Postgres (orders and
 * stock) and, with `repair`, brings Redis in line with Postgres and both stock counters in line
 * with the orders. Safe during a sale: the ledger is read before Postgres (so a committed state in
 * Redis is always visible in the Postgres read), every repair re-checks atomically, and pending
 * reservations younger than `graceMs` are left to the consumer.
 */
export async function reconcileSale(
  deps: SeckillDeps,
  voucherId: string,
  opts: { repair: boolean; graceMs: number }
): Promise<SaleReport> {
  const drifts: Drift[] = []
  const now = deps.clock.now()
  let ledger = await deps.ledger.reservations(voucherId)
  if (!ledger) {
    drifts.push({ kind: 'not-loaded' })
    if (!opts.repair) return { voucherId, drifts, ledger: null, database: null, repaired: false }
    await loadSale(deps, voucherId)
    ledger = (await deps.ledger.reservations(voucherId)) ?? []
  }
  const orders = await deps.orders.listByVoucher(voucherId)
  const inLedger = new Map(ledger.map((r) => [r.orderId, r]))
  for (const o of orders) {
    const r = inLedger.get(o.id)
    inLedger.delete(o.id)
    const want: Exclude<LedgerState, 'pending'> = LIVE.has(o.status)
      ? 'committed'
      : o.status === 'cancelled'
        ? 'cancelled'
        : 'failed'
    const have = r?.state ?? 'unknown'
    if (have === want || (want === 'failed' && have === 'unknown')) continue
    if (have === 'pending' && r && now - r.acceptedAt < opts.graceMs) continue
    drifts.push({ orderId: o.id, kind: `${have}->${want}` })
    if (opts.repair) {
      await deps.ledger.transition(voucherId, o.id, want, 'any', {
        userId: o.userId,
        seq: o.seq,
        acceptedAt: o.createdAt,
      })
    }
  }
  for (const r of inLedger.values()) {
    if (r.state === 'failed') continue
    if (r.state === 'pending') {
      if (now - r.acceptedAt < opts.graceMs) continue
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
  const audit = await deps.ledger.audit(voucherId, false)
  if (audit && audit.stock !== audit.expectedStock) {
    drifts.push({ kind: 'ledger-stock', detail: `${audit.stock} != ${audit.expectedStock}` })
  }
  if (audit && audit.buyersOff > 0)
    drifts.push({ kind: 'ledger-buyers', detail: `${audit.buyersOff} users` })
  if (opts.repair && audit && (audit.stock !== audit.expectedStock || audit.buyersOff > 0)) {
    await deps.ledger.audit(voucherId, true)
  }
  const database = await deps.orders.auditStock(voucherId, opts.repair)
  if (database && database.stock !== database.expected) {
    drifts.push({ kind: 'database-stock', detail: `${database.stock} != ${database.expected}` })
  }
  return { voucherId, drifts, ledger: audit, database, repaired: opts.repair && drifts.length > 0 }
}

/** Reconciles one sale, or every sale whose Redis keys may still exist. */
export async function reconcile(
  deps: SeckillDeps,
  opts: { repair: boolean; graceMs: number; voucherId?: string }
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
