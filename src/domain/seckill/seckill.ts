import { DomainError, PermanentFailure } from '../errors.ts'
import { isDecimalId } from '../ids.ts'
import type { Clock } from '../ports/clock.ts'
import type { Pacer } from '../ports/pacer.ts'
import type { BatchItem, DeadLetter, Delivery, Queue } from '../ports/queue.ts'
import type {
  LedgerState,
  Refusal,
  Reservation,
  SaleBucket,
  SaleTerms,
  StockLedger,
} from '../ports/stock.ts'
import type {
  NewVoucher,
  Order,
  OrderRepository,
  Voucher,
  VoucherRepository,
} from '../ports/vouchers.ts'
import type { OrderBatcher } from './batcher.ts'
import { announceOrder, type LiveSeckill } from './live.ts'

export const TOPIC_PERSIST = 'orders.persist'
export const TOPIC_TIMEOUT = 'orders.timeout'

export interface SeckillPolicy {
  /** How long a sale's Redis keys outlive its end, in ms. */
  retentionMs: number
  /**
   * Unpaid orders are cancelled this long after they were accepted (the 202; the order's
   * createdAt is its acceptance), in ms.
   */
  payTimeoutMs: number
  /** The relay republishes outbox entries older than this, in ms. */
  relayAfterMs: number
  /** Queue redeliveries of the persist message before it is dead-lettered. */
  persistRetries: number
  /**
   * Most accepted orders one persist message carries (group commit, see `OrderBatcher`); 1 = one
   * message per order.
   */
  persistBatch: number
  /**
   * Each sale's admission bucket (acceptances per interval, kept with the sale in the ledger and
   * checked in the reservation's atomic step); null = none.
   */
  saleLimit: SaleBucket | null
}

export interface SeckillDeps {
  clock: Clock
  ledger: StockLedger
  vouchers: VoucherRepository
  orders: OrderRepository
  queue: Queue
  /** Work that must finish after the response (Workers: waitUntil). */
  background(work: Promise<unknown>): void
  /**
   * Gathers the acceptances of one turn of the event loop into shared queue messages (absent: each
   * order is published on its own, as `persistBatch` 1).
   */
  batcher?: OrderBatcher
  policy: SeckillPolicy
  /** Live notifications of order states (absent: none are sent). */
  live?: LiveSeckill
  /**
   * Lets the cron jobs pause between bounded chunks (absent: they never pause — fine when no
   * request shares the thread, e.g. a tool or a unit test).
   */
  pacer?: Pacer
}

/** Items a cron job handles between two pauses (publishes, orders compared; see `Pacer`). */
export const JOB_CHUNK = 100

/** Gives the event loop back between two chunks of a job's work. */
export function pause(deps: Pick<SeckillDeps, 'pacer'>): Promise<void> {
  return deps.pacer?.pause() ?? Promise.resolve()
}

/**
 * What the persist message carries for one order: everything the consumer needs, nothing secret.
 * A message of several orders (group commit) is `{ orders: PersistMessage[] }`.
 */
export interface PersistMessage {
  orderId: string
  voucherId: string
  userId: string
  seq: number
  acceptedAt: number
}

/** Most orders a persist or timeout message may carry (`persistBatch` is at most this). */
export const MAX_BATCH = 1000

export type OrderView = {
  id: string
  voucherId: string
  status: 'pending' | Order['status']
  createdAt: number
  paidAt: number | null
  cancelledAt: number | null
}

const REFUSAL_TEXT: Record<Refusal, string> = {
  SOLD_OUT: 'sold out',
  ALREADY_PURCHASED: 'you already hold the maximum for this sale',
  SALE_NOT_STARTED: 'the sale has not started',
  SALE_ENDED: 'the sale has ended',
}

function refusal(reason: Refusal): SaleRefusal {
  return { refused: reason, message: REFUSAL_TEXT[reason] }
}

function termsOf(voucher: Voucher): SaleTerms {
  const s = voucher.seckill
  if (!s) throw new DomainError('NOT_FOUND', 'not a flash-sale voucher', { voucherId: voucher.id })
  return {
    voucherId: voucher.id,
    stock: s.stock,
    initialStock: s.initialStock,
    beginAt: s.beginAt,
    endAt: s.endAt,
    perUserLimit: s.perUserLimit,
  }
}

const LIVE = new Set<Order['status']>(['unpaid', 'paid'])

/** The ledger state an order in Postgres implies. */
export function ledgerStateOf(status: Order['status']): Exclude<LedgerState, 'pending'> {
  return LIVE.has(status) ? 'committed' : status === 'cancelled' ? 'cancelled' : 'failed'
}

/** Creates a voucher; a flash-sale voucher's stock is preloaded into the ledger at once. */
export async function createVoucher(deps: SeckillDeps, input: NewVoucher): Promise<Voucher> {
  if (input.seckill) {
    const { beginAt, endAt, stock, perUserLimit } = input.seckill
    if (!(endAt > beginAt))
      throw new DomainError('VALIDATION_FAILED', 'endAt must be after beginAt')
    if (stock < 0 || perUserLimit < 1)
      throw new DomainError('VALIDATION_FAILED', 'bad stock or limit')
  }
  const voucher = await deps.vouchers.create(input)
  if (voucher.seckill) await deps.ledger.load(termsOf(voucher), [])
  return voucher
}

/**
 * (Re)loads a sale into the ledger from Postgres: terms, database stock, and every order that
 * holds stock or quota. Safe to call concurrently; a loaded sale is never overwritten.
 */
export async function loadSale(
  deps: SeckillDeps,
  voucherId: string,
  found?: Voucher | null
): Promise<Voucher> {
  const voucher = found === undefined ? await deps.vouchers.findById(voucherId) : found
  if (!voucher?.seckill) {
    throw new DomainError('NOT_FOUND', 'no such flash-sale voucher', { voucherId })
  }
  const orders = await deps.orders.listByVoucher(voucherId)
  const known: Reservation[] = orders
    .filter((o) => o.status !== 'failed')
    .map((o) => ({
      voucherId,
      orderId: o.id,
      userId: o.userId,
      seq: o.seq,
      acceptedAt: o.createdAt,
      state: ledgerStateOf(o.status),
    }))
  await deps.ledger.load(termsOf(voucher), known)
  return voucher
}

/** A sale's refusal as a value: its code and the text a DomainError of that code would carry. */
export type SaleRefusal = { refused: Refusal; message: string }

export type Reserved = { orderId: string; replayed: boolean }

/**
 * The flash-sale admission: one atomic ledger step (loading the sale first if it is missing),
 * which also takes a token from the sale's admission bucket (`policy.saleLimit`) for an acceptance.
 * On acceptance the persist message and its payment timeout are published after the response, in
 * one queue request; if that publish fails the reservation waits in the outbox for the relay.
 * Refusals throw DomainError with their code (`tryReserve` returns them); an empty admission bucket
 * throws RATE_LIMITED with `retryAfterMs` (nothing was taken).
 */
export async function reserve(
  deps: SeckillDeps,
  request: { voucherId: string; userId: string; orderId: string; idempotencyKey?: string }
): Promise<Reserved> {
  const r = await tryReserve(deps, request)
  if ('refused' in r) throw new DomainError(r.refused, r.message)
  return r
}

/**
 * `reserve` for the hot path: a sale's refusal (SOLD_OUT, …) is returned, not thrown — 99 % of a
 * sold-out sale's answers, each of which would otherwise capture a stack. Every other failure
 * throws as in `reserve`.
 */
export async function tryReserve(
  deps: SeckillDeps,
  request: { voucherId: string; userId: string; orderId: string; idempotencyKey?: string }
): Promise<Reserved | SaleRefusal> {
  const input = { ...request, ...(deps.policy.saleLimit ? { bucket: deps.policy.saleLimit } : {}) }
  // A ledger that records `orderId → sale` on every reserve call (StockLedger.saleIndex) keeps it
  // for an id that was not accepted too, for the sale's whole retention unless told to forget it.
  // One that records acceptances only (TCP) leaves nothing to forget: a refusal costs no DEL.
  const forget =
    deps.ledger.saleIndex === 'every-call'
      ? () => deps.background(deps.ledger.forget(input.orderId))
      : () => {}
  let outcome = await deps.ledger.reserve(input)
  if (outcome.kind === 'not-loaded') {
    const voucher = await deps.vouchers.findById(input.voucherId)
    // An ended sale answers without its ledger: reloading (its whole order history) would only
    // lead to the same refusal, for any request naming an old voucher.
    if (voucher?.seckill && deps.clock.now() >= voucher.seckill.endAt) {
      forget()
      return refusal('SALE_ENDED')
    }
    await loadSale(deps, input.voucherId, voucher)
    outcome = await deps.ledger.reserve(input)
  }
  if (outcome.kind !== 'accepted') forget()
  switch (outcome.kind) {
    case 'accepted': {
      const message: PersistMessage = {
        orderId: outcome.orderId,
        voucherId: input.voucherId,
        userId: input.userId,
        seq: outcome.seq,
        acceptedAt: deps.clock.now(),
      }
      deps.background(deps.batcher ? deps.batcher.add(message) : publishAccepted(deps, [message]))
      return { orderId: outcome.orderId, replayed: false }
    }
    case 'replayed':
      return { orderId: outcome.orderId, replayed: true }
    case 'refused':
      return refusal(outcome.reason)
    case 'throttled':
      throw new DomainError('RATE_LIMITED', 'the sale is busy: try again shortly', {
        retryAfterMs: outcome.retryAfterMs,
      })
    case 'not-loaded':
      throw new DomainError('DEPENDENCY_UNAVAILABLE', 'the sale could not be loaded')
  }
}

/** Redeliveries of the payment timeout: at least as many as the persist message gets. */
export function timeoutRetries(policy: Pick<SeckillPolicy, 'persistRetries'>): number {
  return Math.max(3, policy.persistRetries)
}

/**
 * Publishes everything accepted orders need from the queue in ONE request (a batch): per group of
 * up to `perMessage` orders (default `policy.persistBatch`), one persist message and one payment
 * timeout, due `payTimeoutMs` after the group's latest acceptance (`acceptedAt`; a republish
 * schedules what is left of that, or 0) — so no order's deadline comes early, and none comes later
 * than the group's spread (one turn of the event loop at acceptance). Both are deduplicated
 * (`persist-<id>` and `timeout-<id>` for one order, `persist-<first id>+<n>` for a group of n), so
 * the relay and reconciliation may repeat a publish safely, also after a partly accepted one. A
 * timeout may arrive before its orders are persisted (a long persist outage): it is retried while
 * the ledger holds one of them pending (ORDER_PENDING), with at least the persist message's
 * retries, so its last attempt comes after the persist's last one; `cancelOverdue` is the backstop.
 */
export function publishAccepted(
  deps: Pick<SeckillDeps, 'queue' | 'policy' | 'clock'>,
  messages: readonly PersistMessage[],
  perMessage: number = deps.policy.persistBatch
) {
  const size = Math.min(Math.max(1, Math.floor(perMessage)), MAX_BATCH)
  const now = deps.clock.now()
  const items: BatchItem[] = []
  for (let i = 0; i < messages.length; i += size) {
    const group = messages.slice(i, i + size)
    const first = group[0]!
    const one = group.length === 1
    const tag = one ? first.orderId : `${first.orderId}+${group.length}`
    const last = Math.max(...group.map((m) => m.acceptedAt))
    items.push(
      {
        topic: TOPIC_PERSIST,
        body: one ? first : { orders: group },
        opts: { dedupId: `persist-${tag}`, retries: deps.policy.persistRetries },
      },
      {
        topic: TOPIC_TIMEOUT,
        body: one ? { orderId: first.orderId } : { orderIds: group.map((m) => m.orderId) },
        opts: {
          delayMs: Math.max(0, last + deps.policy.payTimeoutMs - now),
          dedupId: `timeout-${tag}`,
          retries: timeoutRetries(deps.policy),
        },
      }
    )
  }
  return deps.queue.publishBatch(items)
}

/** Unix ms a Date can hold (the order's createdAt). */
const isTime = (t: unknown): t is number => typeof t === 'number' && t >= 0 && t <= 8.64e15

function parseOne(body: unknown): PersistMessage {
  const m = body as Partial<PersistMessage> | null
  if (
    !m ||
    !isDecimalId(m.orderId) ||
    !isDecimalId(m.voucherId) ||
    !isDecimalId(m.userId) ||
    !Number.isInteger(m.seq) ||
    !isTime(m.acceptedAt)
  ) {
    throw new PermanentFailure('malformed persist message')
  }
  const { orderId, voucherId, userId, seq, acceptedAt } = m as PersistMessage
  return { orderId, voucherId, userId, seq, acceptedAt }
}

/** A persist message's orders: one order, or `{ orders: [...] }` of 1..MAX_BATCH distinct ones. */
function parsePersist(body: unknown): PersistMessage[] {
  const group = (body as { orders?: unknown } | null)?.orders
  if (group === undefined) return [parseOne(body)]
  if (!Array.isArray(group) || group.length === 0 || group.length > MAX_BATCH) {
    throw new PermanentFailure('malformed persist message')
  }
  const orders = group.map(parseOne)
  if (new Set(orders.map((m) => m.orderId)).size !== orders.length) {
    throw new PermanentFailure('malformed persist message')
  }
  return orders
}

/** Brings the ledger in line with the order as Postgres has it (idempotent). */
async function settleLedger(deps: SeckillDeps, m: PersistMessage, order: Order) {
  const to = ledgerStateOf(order.status)
  const adopt = { userId: m.userId, seq: m.seq, acceptedAt: m.acceptedAt }
  // A live order must hold stock in the ledger whatever the ledger thought; a released one
  // gives it back only from pending/committed.
  const from = to === 'committed' ? 'any' : (['pending', 'committed'] as const)
  const r = await deps.ledger.transition(m.voucherId, m.orderId, to, from, adopt)
  if (r.outcome === 'not-loaded') {
    await loadSale(deps, m.voucherId)
  }
}

/**
 * The persist consumer (at-least-once), for a message of one order or of a group: ONE Postgres
 * statement inserts every order (createdAt = its acceptance, the start of its payment deadline)
 * and takes the database stock, all or nothing; only after it commits are the outbox entries
 * cleared (ledger: committed). An order Postgres refuses (no database stock left, or its user's
 * slot taken: the ledger ran ahead of the database) is recorded as failed and its stock and quota
 * go back, at once — what the dead-letter hand-off does — and the rest of its group goes on. The
 * payment timeout was published with this message (`publishAccepted`). A redelivery finds the
 * orders and only re-settles the ledger.
 */
export async function handlePersist(deps: SeckillDeps, delivery: Delivery<unknown>) {
  const group = parsePersist(delivery.body)
  const results = await deps.orders.persistMany(
    group.map((m) => ({
      id: m.orderId,
      userId: m.userId,
      voucherId: m.voucherId,
      seq: m.seq,
      createdAt: m.acceptedAt,
    }))
  )
  // Every order's step runs to its end before a failure is rethrown (the redelivery repeats them).
  const settled = await Promise.allSettled(
    group.map(async (m, i) => {
      const r = results[i]!
      if (r.result === 'sold-out') return failOrder(deps, m, 'no database stock left')
      if (r.result === 'duplicate') {
        return failOrder(deps, m, 'the user already holds this order slot')
      }
      await settleLedger(deps, m, r.order)
      announceOrder(deps, r.order)
    })
  )
  const failed = settled.find((r) => r.status === 'rejected')
  if (failed) throw failed.reason
}

/** Records the order as failed — unless it made it after all — and gives stock and quota back, once. */
async function failOrder(deps: SeckillDeps, m: PersistMessage, reason: string) {
  const order = await deps.orders.markFailed(
    { id: m.orderId, userId: m.userId, voucherId: m.voucherId, seq: m.seq },
    reason.slice(0, 500),
    deps.clock.now()
  )
  await settleLedger(deps, m, order)
  announceOrder(deps, order)
}

/**
 * The persist topic's dead-letter hand-off (retries exhausted, or a permanent failure): each of
 * the message's orders is recorded as failed — unless it made it after all — and its stock and
 * quota go back, once.
 */
export async function handlePersistDead(deps: SeckillDeps, letter: DeadLetter<unknown>) {
  let group: PersistMessage[]
  try {
    group = parsePersist(letter.body)
  } catch {
    return // nothing we can attribute; the queue's DLQ keeps the raw message
  }
  for (const m of group) {
    await pause(deps)
    await failOrder(deps, m, letter.reason)
  }
}

/** Cancels an unpaid order (by its owner, or by the system when `userId` is null). */
export async function cancelOrder(deps: SeckillDeps, orderId: string, userId: string | null) {
  let r = await deps.orders.cancel(orderId, userId, deps.clock.now())
  if (!r.order) {
    const held = await heldInLedger(deps, orderId, userId)
    if (held?.state === 'pending') throw stillPending()
    if (held) r = await deps.orders.cancel(orderId, userId, deps.clock.now())
  }
  if (!r.order) throw new DomainError('NOT_FOUND', 'no such order')
  if (r.order.status !== 'cancelled') {
    throw new DomainError('ORDER_NOT_CANCELLABLE', `the order is ${r.order.status}`)
  }
  // First cancel or a retry after a failure here: returning Redis stock is idempotent.
  await deps.ledger.transition(r.order.voucherId, orderId, 'cancelled', ['pending', 'committed'])
  announceOrder(deps, r.order)
  return r.order
}

/** A timeout message's orders: `{ orderId }`, or `{ orderIds: [...] }` of 1..MAX_BATCH. */
function parseTimeout(body: unknown): string[] {
  const b = body as { orderId?: unknown; orderIds?: unknown } | null
  const ids = b?.orderIds === undefined ? [b?.orderId] : b.orderIds
  if (
    !Array.isArray(ids) ||
    ids.length === 0 ||
    ids.length > MAX_BATCH ||
    !ids.every((id) => typeof id === 'string' && isDecimalId(id))
  ) {
    throw new PermanentFailure('malformed timeout message')
  }
  return ids as string[]
}

/**
 * The payment-timeout consumer: cancels each of the message's orders that is still unpaid; a paid,
 * failed or cancelled one is left alone. When one is still pending (not yet persisted) or fails,
 * the others are handled first, then the message is retried (ORDER_PENDING) — a cancel is a
 * compare-and-set, so the retry changes only what is left. A timeout that keeps failing still
 * cancels through the dead-letter hand-off (`handleTimeoutDead`); reconciliation is the backstop for
 * one that was never published (`cancelOverdue`).
 */
export async function handleTimeout(deps: SeckillDeps, delivery: Pick<Delivery<unknown>, 'body'>) {
  const ids = parseTimeout(delivery.body)
  let failure: unknown = null
  for (const orderId of ids) {
    if (ids.length > 1) await pause(deps)
    try {
      await cancelOrder(deps, orderId, null)
    } catch (e) {
      // Paid (or already failed) in time: nothing to do. Anything else is retried.
      if (!(e instanceof DomainError && e.code === 'ORDER_NOT_CANCELLABLE')) failure ??= e
    }
  }
  if (failure !== null) throw failure
}

/** The timeout topic's dead-letter hand-off: retries are exhausted, so the deadline has passed. */
export async function handleTimeoutDead(deps: SeckillDeps, letter: DeadLetter<unknown>) {
  try {
    await handleTimeout(deps, letter)
  } catch (e) {
    if (!(e instanceof PermanentFailure)) throw e // nothing attributable: the DLQ keeps it
  }
}

/**
 * Cancels unpaid orders accepted (createdAt) more than `payTimeoutMs + graceMs` ago (their timeout
 * was lost: the publish kept failing, or the message was dead-lettered unprocessed), at most `limit` per
 * call (of one sale, or of all), oldest first. Stock goes back exactly once (the cancel is a
 * compare-and-set). Without `repair` it only counts them.
 */
export async function cancelOverdue(
  deps: SeckillDeps,
  opts: { repair: boolean; graceMs: number; limit: number; voucherId?: string }
): Promise<{ overdue: number; cancelled: number }> {
  const before = deps.clock.now() - deps.policy.payTimeoutMs - opts.graceMs
  const due = await deps.orders.listUnpaidBefore(before, opts.limit, opts.voucherId)
  if (!opts.repair) return { overdue: due.length, cancelled: 0 }
  let cancelled = 0
  for (const order of due) {
    // One cancellation (a transaction and a ledger transition) per turn of the event loop.
    await pause(deps)
    const r = await deps.orders.cancel(order.id, null, deps.clock.now())
    if (r.order?.status === 'cancelled') {
      await deps.ledger.transition(order.voucherId, order.id, 'cancelled', ['pending', 'committed'])
    }
    if (r.changed && r.order) {
      cancelled += 1
      announceOrder(deps, r.order)
    }
  }
  return { overdue: due.length, cancelled }
}

/** Simulated payment: compare-and-set unpaid → paid, idempotent for a paid order. */
export async function payOrder(deps: SeckillDeps, orderId: string, userId: string) {
  let r = await deps.orders.pay(orderId, userId, deps.clock.now())
  if (!r.order) {
    const held = await heldInLedger(deps, orderId, userId)
    if (held?.state === 'pending') throw stillPending()
    if (held) r = await deps.orders.pay(orderId, userId, deps.clock.now())
    if (!r.order) throw new DomainError('NOT_FOUND', 'no such order')
  }
  if (r.order.status !== 'paid') {
    throw new DomainError('ORDER_NOT_PAYABLE', `the order is ${r.order.status}`)
  }
  announceOrder(deps, r.order)
  return r.order
}

/** Sales whose ledger keys may still exist. */
function recentSales(deps: SeckillDeps): Promise<Voucher[]> {
  return deps.vouchers.listSeckillEndingAfter(deps.clock.now() - deps.policy.retentionMs)
}

/**
 * After Postgres missed an order: the ledger's record of it, found in a constant number of calls
 * whatever the number of sales (the `saleOf` index, then the sale's record), or null when it is not
 * `userId`'s (null `userId`: the system, any owner's). The consumer commits Postgres before it
 * moves the ledger on, so a record that is no longer pending here means Postgres has the order
 * now: read (or act on) Postgres again.
 */
async function heldInLedger(
  deps: SeckillDeps,
  orderId: string,
  userId: string | null
): Promise<Reservation | null> {
  const voucherId = await deps.ledger.saleOf(orderId)
  const held = voucherId ? await deps.ledger.find(voucherId, orderId) : null
  return held && (userId === null || held.userId === userId) ? held : null
}

function stillPending(): DomainError {
  return new DomainError('ORDER_PENDING', 'the order is still being placed; try again shortly')
}

const pendingView = (held: Reservation): OrderView => ({
  id: held.orderId,
  voucherId: held.voucherId,
  status: 'pending',
  createdAt: held.acceptedAt,
  paidAt: null,
  cancelledAt: null,
})

/**
 * An order as its owner sees it, from its 202 on: Postgres, or still pending in the ledger. When
 * the Postgres read fails (unreachable), an order the ledger still holds as pending is answered
 * from there: the ledger never runs ahead of Postgres (it leaves pending only after the commit), so
 * "pending" is at worst a moment behind, as in the read race below. Any other order rethrows the
 * database's error (a 503 to retry).
 */
export async function orderStatus(
  deps: SeckillDeps,
  orderId: string,
  userId: string
): Promise<OrderView> {
  let order: Order | null
  try {
    order = await deps.orders.findById(orderId)
  } catch (e) {
    const held = await heldInLedger(deps, orderId, userId).catch(() => null)
    if (held?.state === 'pending') return pendingView(held)
    throw e
  }
  if (!order) {
    const held = await heldInLedger(deps, orderId, userId)
    if (held?.state === 'pending') return pendingView(held)
    if (held) order = await deps.orders.findById(orderId)
  }
  if (order?.userId !== userId) throw new DomainError('NOT_FOUND', 'no such order')
  const { id, voucherId, status, createdAt, paidAt, cancelledAt } = order
  return { id, voucherId, status, createdAt, paidAt, cancelledAt }
}

/**
 * Sends accepted reservations of one sale on again (the relay, reconciliation's repair): first
 * their `saleOf` records — a crash between an acceptance and its record leaves the order without
 * one, and GET /orders/{id} finds a pending order by it — in one call, then a persist message and a
 * payment timeout per order, all in ONE queue request (per-order dedup ids, the same as a lone
 * order's at acceptance). Returns how many were republished (all, or 0 when the publish failed:
 * they stay in the outbox for the next attempt).
 */
export async function republish(
  deps: SeckillDeps,
  voucherId: string,
  reservations: readonly Reservation[]
): Promise<number> {
  if (reservations.length === 0) return 0
  await deps.ledger.remember(
    voucherId,
    reservations.map((r) => r.orderId)
  )
  const messages = reservations.map(({ orderId, userId, seq, acceptedAt }) => ({
    orderId,
    voucherId,
    userId,
    seq,
    acceptedAt,
  }))
  try {
    await publishAccepted(deps, messages, 1)
  } catch {
    return 0 // all of them stay in the outbox for the next attempt
  }
  return reservations.length
}

/**
 * Republishes outbox entries that were never persisted (publish failed, or a lost message): the
 * same batch as at acceptance, so the persist message and the payment timeout each arrive once.
 */
export async function relayOutbox(deps: SeckillDeps): Promise<{ republished: number }> {
  const before = deps.clock.now() - deps.policy.relayAfterMs
  let republished = 0
  for (const sale of await recentSales(deps)) {
    await pause(deps)
    const stale = await deps.ledger.outbox(sale.id, before, 500)
    // Published JOB_CHUNK at a time, pausing in between: a big backlog never holds the thread.
    for (let i = 0; i < stale.length; i += JOB_CHUNK) {
      if (i > 0) await pause(deps)
      republished += await republish(deps, sale.id, stale.slice(i, i + JOB_CHUNK))
    }
  }
  return { republished }
}
