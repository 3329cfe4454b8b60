import type { Clock } from '../../domain/ports/clock.ts'
import type {
  LedgerCounters,
  LedgerState,
  Reservation,
  ReserveOutcome,
  SaleAudit,
  SaleBucket,
  SaleTerms,
  StockLedger,
  TransitionResult,
} from '../../domain/ports/stock.ts'

interface Sale {
  terms: SaleTerms
  stock: number
  counts: Record<LedgerState, number>
  cursor: string
  buyers: Map<string, number>
  /** The slots (seq) each user's quota-holding reservations occupy: admission in O(1). */
  slots: Map<string, Set<number>>
  orders: Map<string, Reservation>
  /** Order ids in first-seen order (records are never removed): `scan` steps in O(count). */
  ids: string[]
  /** Pending order ids in acceptance order: `outbox` in O(pending). */
  pending: Set<string>
  idem: Map<string, ReserveOutcome & { kind: 'accepted' }>
  /** The admission bucket: tokens left, and when it was last refilled (unset until first used). */
  bucket: { tokens: number; refilledAt: number } | null
}

const HOLDS_STOCK: Record<LedgerState | 'unknown', number> = {
  pending: 1,
  committed: 1,
  cancelled: 0,
  failed: 0,
  unknown: 0,
}
const HOLDS_QUOTA: Record<LedgerState | 'unknown', number> = {
  pending: 1,
  committed: 1,
  cancelled: 1,
  failed: 0,
  unknown: 0,
}

/**
 * Takes one token from the sale's admission bucket (refilled in whole intervals, as
 * lua/seckill-reserve.lua does); returns null, or the ms until the next refill when it is empty.
 */
function takeToken(sale: Sale, bucket: SaleBucket, now: number): number | null {
  const { tokens: max, intervalMs } = bucket
  const b = sale.bucket ?? { tokens: max, refilledAt: now }
  let tokens = Math.min(b.tokens, max)
  let refilledAt = b.refilledAt
  if (now >= refilledAt + intervalMs) {
    const refills = Math.floor((now - refilledAt) / intervalMs)
    tokens = Math.min(max, tokens + refills * max)
    refilledAt += refills * intervalMs
  }
  if (tokens < 1) return refilledAt + intervalMs - now
  sale.bucket = { tokens: tokens - 1, refilledAt }
  return null
}

/** The ledger in Maps with lua/seckill-*.lua's semantics (one process only). */
export class MemoryStockLedger implements StockLedger {
  readonly #clock: Clock
  readonly #sales = new Map<string, Sale>()
  readonly #saleOf = new Map<string, string>()
  readonly saleIndex: 'every-call' | 'accepted'

  /** `saleIndex` as StockLedger tells (default 'accepted'; 'every-call' mimics the REST ledger). */
  constructor(clock: Clock, options: { saleIndex?: 'every-call' | 'accepted' } = {}) {
    this.#clock = clock
    this.saleIndex = options.saleIndex ?? 'accepted'
  }

  /** Forgets a sale (tests: simulate lost Redis data). */
  drop(voucherId: string): void {
    this.#sales.delete(voucherId)
  }

  async load(terms: SaleTerms, known: readonly Reservation[]): Promise<boolean> {
    if (this.#sales.has(terms.voucherId)) return false
    const sale: Sale = {
      terms: { ...terms },
      stock: terms.stock,
      counts: { pending: 0, committed: 0, cancelled: 0, failed: 0 },
      cursor: '',
      buyers: new Map(),
      slots: new Map(),
      orders: new Map(),
      ids: [],
      pending: new Set(),
      idem: new Map(),
      bucket: null,
    }
    for (const r of [...known].sort((a, b) => a.acceptedAt - b.acceptedAt)) {
      put(sale, { ...r })
      sale.counts[r.state] += 1
      if (HOLDS_QUOTA[r.state]) sale.buyers.set(r.userId, (sale.buyers.get(r.userId) ?? 0) + 1)
    }
    this.#sales.set(terms.voucherId, sale)
    return true
  }

  async reserve(input: {
    voucherId: string
    userId: string
    orderId: string
    idempotencyKey?: string
    bucket?: SaleBucket
  }): Promise<ReserveOutcome> {
    if (this.saleIndex === 'every-call') this.#index(input.orderId, input.voucherId)
    const outcome = this.#reserve(input)
    if (
      this.saleIndex === 'accepted' &&
      (outcome.kind === 'accepted' || outcome.kind === 'replayed')
    )
      this.#index(outcome.orderId, input.voucherId)
    return outcome
  }

  #index(orderId: string, voucherId: string) {
    if (!this.#saleOf.has(orderId)) this.#saleOf.set(orderId, voucherId)
  }

  async remember(voucherId: string, orderIds: readonly string[]): Promise<void> {
    for (const id of orderIds) this.#index(id, voucherId)
  }

  #reserve(input: {
    voucherId: string
    userId: string
    orderId: string
    idempotencyKey?: string
    bucket?: SaleBucket
  }): ReserveOutcome {
    const sale = this.#sales.get(input.voucherId)
    const mine = sale?.orders.get(input.orderId)
    if (mine && mine.userId === input.userId) {
      return { kind: 'accepted', orderId: input.orderId, seq: mine.seq }
    }
    const idemKey = input.idempotencyKey ? `${input.userId}|${input.idempotencyKey}` : null
    const seen = idemKey ? sale?.idem.get(idemKey) : undefined
    if (seen) return { kind: 'replayed', orderId: seen.orderId }
    if (!sale) return { kind: 'not-loaded' }
    const now = this.#clock.now()
    const t = sale.terms
    const reason =
      now < t.beginAt
        ? 'SALE_NOT_STARTED'
        : now >= t.endAt
          ? 'SALE_ENDED'
          : (sale.buyers.get(input.userId) ?? 0) >= t.perUserLimit
            ? 'ALREADY_PURCHASED'
            : sale.stock <= 0
              ? 'SOLD_OUT'
              : null
    if (reason) return { kind: 'refused', reason } // not recorded: a retry is answered afresh
    if (input.bucket) {
      const retryAfterMs = takeToken(sale, input.bucket, now)
      if (retryAfterMs !== null) return { kind: 'throttled', retryAfterMs }
    }
    sale.stock -= 1
    sale.counts.pending += 1
    // The lowest slot none of the user's reservations holds (a failed order's slot is reused).
    const held = sale.slots.get(input.userId)
    let seq = 1
    while (held?.has(seq)) seq += 1
    sale.buyers.set(input.userId, (sale.buyers.get(input.userId) ?? 0) + 1)
    put(sale, {
      voucherId: input.voucherId,
      orderId: input.orderId,
      userId: input.userId,
      seq,
      acceptedAt: now,
      state: 'pending',
    })
    const accepted = { kind: 'accepted' as const, orderId: input.orderId, seq }
    if (idemKey) sale.idem.set(idemKey, accepted)
    return accepted
  }

  async transition(
    voucherId: string,
    orderId: string,
    to: Exclude<LedgerState, 'pending'>,
    from: readonly (LedgerState | 'unknown')[] | 'any',
    adopt?: { userId: string; seq: number; acceptedAt: number }
  ): Promise<TransitionResult> {
    const sale = this.#sales.get(voucherId)
    if (!sale) return { outcome: 'not-loaded', from: 'unknown' }
    const current = sale.orders.get(orderId)
    const was = current?.state ?? 'unknown'
    if (was === to) return { outcome: 'unchanged', from: was }
    if (from !== 'any' && !from.includes(was)) return { outcome: 'refused', from: was }
    const userId = current?.userId ?? adopt?.userId ?? ''
    sale.stock += HOLDS_STOCK[was] - HOLDS_STOCK[to]
    if (was !== 'unknown') sale.counts[was] -= 1
    sale.counts[to] += 1
    const quota = HOLDS_QUOTA[to] - HOLDS_QUOTA[was]
    if (quota !== 0) sale.buyers.set(userId, (sale.buyers.get(userId) ?? 0) + quota)
    put(sale, {
      voucherId,
      orderId,
      userId,
      seq: current?.seq ?? adopt?.seq ?? 0,
      acceptedAt: current?.acceptedAt ?? adopt?.acceptedAt ?? 0,
      state: to,
    })
    return { outcome: 'applied', from: was }
  }

  async outbox(voucherId: string, acceptedBefore: number, limit: number): Promise<Reservation[]> {
    const sale = this.#sales.get(voucherId)
    if (!sale) return []
    // The pending set is in acceptance order: the oldest come first, young ones are skipped.
    const due: Reservation[] = []
    for (const id of sale.pending) {
      if (due.length >= limit) break
      const r = sale.orders.get(id)!
      if (r.acceptedAt <= acceptedBefore) due.push({ ...r })
    }
    return due.sort((a, b) => a.acceptedAt - b.acceptedAt)
  }

  async remaining(voucherId: string): Promise<number | null> {
    return this.#sales.get(voucherId)?.stock ?? null
  }

  async saleOf(orderId: string): Promise<string | null> {
    return this.#saleOf.get(orderId) ?? null
  }

  async forget(orderId: string): Promise<void> {
    this.#saleOf.delete(orderId)
  }

  async find(voucherId: string, orderId: string): Promise<Reservation | null> {
    const r = this.#sales.get(voucherId)?.orders.get(orderId)
    return r ? { ...r } : null
  }

  async reservations(voucherId: string): Promise<Reservation[] | null> {
    const sale = this.#sales.get(voucherId)
    return sale ? [...sale.orders.values()].map((r) => ({ ...r })) : null
  }

  async counters(voucherId: string): Promise<LedgerCounters | null> {
    const sale = this.#sales.get(voucherId)
    if (!sale) return null
    const { stock, counts, cursor } = sale
    return { stock, initialStock: sale.terms.initialStock, ...counts, cursor, counted: true }
  }

  async records(voucherId: string, orderIds: readonly string[]) {
    const orders = this.#sales.get(voucherId)?.orders
    return orderIds.map((id) => {
      const r = orders?.get(id)
      return r ? { ...r } : null
    })
  }

  async scan(voucherId: string, cursor: string, count: number) {
    const sale = this.#sales.get(voucherId)
    const ids = sale?.ids ?? []
    const from = Number(cursor) || 0
    const to = from + count
    return {
      next: to >= ids.length ? '0' : String(to),
      reservations: ids.slice(from, to).map((id) => ({ ...sale!.orders.get(id)! })),
    }
  }

  async setCursor(voucherId: string, cursor: string): Promise<void> {
    const sale = this.#sales.get(voucherId)
    if (sale) sale.cursor = cursor
  }

  async fixStock(voucherId: string): Promise<void> {
    const sale = this.#sales.get(voucherId)
    if (sale) sale.stock = sale.terms.initialStock - sale.counts.pending - sale.counts.committed
  }

  async audit(voucherId: string, repair: boolean): Promise<SaleAudit | null> {
    const sale = this.#sales.get(voucherId)
    if (!sale) return null
    const counts = { pending: 0, committed: 0, cancelled: 0, failed: 0 }
    const quota = new Map<string, number>()
    for (const r of sale.orders.values()) {
      counts[r.state] += 1
      if (HOLDS_QUOTA[r.state]) quota.set(r.userId, (quota.get(r.userId) ?? 0) + 1)
    }
    const expectedStock = sale.terms.initialStock - counts.pending - counts.committed
    const users = new Set([...sale.buyers.keys(), ...quota.keys()])
    const off = [...users].filter((u) => (sale.buyers.get(u) ?? 0) !== (quota.get(u) ?? 0))
    const report = { stock: sale.stock, expectedStock, buyersOff: off.length, ...counts }
    if (repair) {
      sale.stock = expectedStock
      sale.counts = counts
      for (const u of off) sale.buyers.set(u, quota.get(u) ?? 0)
    }
    return report
  }
}

/**
 * Stores a reservation, keeping the sale's indexes in step with its records: the first-seen
 * order, the pending set and the users' held slots.
 */
function put(sale: Sale, r: Reservation): void {
  const before = sale.orders.get(r.orderId)
  if (!before) sale.ids.push(r.orderId)
  sale.orders.set(r.orderId, r)
  if (r.state === 'pending') sale.pending.add(r.orderId)
  else sale.pending.delete(r.orderId)
  if (before && HOLDS_QUOTA[before.state]) sale.slots.get(before.userId)?.delete(before.seq)
  if (HOLDS_QUOTA[r.state]) {
    const held = sale.slots.get(r.userId) ?? new Set<number>()
    sale.slots.set(r.userId, held)
    held.add(r.seq)
  }
}
