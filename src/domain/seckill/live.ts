/**
 * Live flash-sale views: an order's state changes pushed over the Broadcast port (channel
 * `order:<id>`; best effort and at-most-once: the states live in Postgres and the ledger, and a
 * subscriber reads them when it (re)connects), and a sale's remaining stock (StockWatch).
 */
import type { Broadcast } from '../ports/broadcast.ts'
import type { Clock } from '../ports/clock.ts'
import type { StockLedger } from '../ports/stock.ts'
import type { Order } from '../ports/vouchers.ts'

export type OrderState = 'pending' | Order['status']

export const orderChannel = (orderId: string) => `order:${orderId}`
/** A sale's live channel name: what places its stock watch (on Workers: the hub object). */
export const saleChannel = (voucherId: string) => `sale:${voucherId}`

/**
 * An order's position on its path `pending(1) → unpaid(2) → paid | cancelled (3)`, or
 * `pending → failed (3)`: the event ids of the order stream (`Last-Event-ID` resumes after one).
 */
export const STATE_SEQ: Record<OrderState, number> = {
  pending: 1,
  unpaid: 2,
  paid: 3,
  cancelled: 3,
  failed: 3,
}
export const FINAL_SEQ = 3

export interface OrderEvent {
  id: string
  voucherId: string
  status: OrderState
  seq: number
  createdAt: number
  paidAt: number | null
  cancelledAt: number | null
}

export function orderEvent(o: Omit<OrderEvent, 'seq'>): OrderEvent {
  const { id, voucherId, status, createdAt, paidAt, cancelledAt } = o
  return { id, voucherId, status, seq: STATE_SEQ[status], createdAt, paidAt, cancelledAt }
}

/** Parses a message of an order channel; null when it is not one. */
export function parseOrderEvent(text: string): OrderEvent | null {
  try {
    const e = JSON.parse(text) as Partial<OrderEvent>
    if (typeof e.status !== 'string' || !Object.hasOwn(STATE_SEQ, e.status)) return null
    return { ...(e as OrderEvent), seq: STATE_SEQ[e.status as OrderState] }
  } catch {
    return null
  }
}

/** How often a watched sale's remaining stock is read. */
export const STOCK_WATCH_EVERY_MS = 500

/**
 * Where a sale stream gets its stock changes: a StockWatch in the process, or (Workers with the
 * live hub bound) the StockWatch of the hub object that owns the sale's channel.
 */
export interface StockFeed {
  /**
   * Calls `listener.stock` with each new value and `listener.lost` once when the feed fails (a
   * failed read, or the connection to the watch): the listener is then detached. Resolves (or
   * returns) once attached, with stop; rejects with DependencyUnavailable when the feed cannot
   * be reached. A value read after attaching cannot be older than what the feed pushes later.
   */
  watch(voucherId: string, listener: StockListener): (() => void) | Promise<() => void>
}

/**
 * Remaining stock for live viewers, polled ONCE per sale and process (or Workers request, or live
 * hub object) however many viewers watch it, every `everyMs`, and pushed to them when it changes.
 * Nothing is added to the buyers' hot path (it stays at two Redis round trips): the cost is one
 * read per interval per watched sale and process, independent of the number of buyers and viewers.
 */
export class StockWatch implements StockFeed {
  readonly #ledger: StockLedger
  readonly #clock: Clock
  readonly #everyMs: number
  readonly #sales = new Map<string, WatchedSale>()
  /** Ledger reads so far (tests, metrics). */
  reads = 0
  /** Viewers attached now, over every sale (tests, metrics). */
  listeners = 0
  #readWaiters: { reads: number; resolve: () => void }[] = []

  constructor(ledger: StockLedger, clock: Clock, everyMs: number) {
    this.#ledger = ledger
    this.#clock = clock
    this.#everyMs = everyMs
  }

  /**
   * Calls `listener.stock` with each new value (read every interval); `listener.lost` once if a
   * read fails (the listener is then detached: its stream ends and the client reconnects).
   * Returns stop.
   */
  watch(voucherId: string, listener: StockListener): () => void {
    let sale = this.#sales.get(voucherId)
    if (!sale) {
      sale = { listeners: new Set(), stop: new AbortController() }
      this.#sales.set(voucherId, sale)
      // Not handed to waitUntil: the loop lives exactly as long as its viewers' streams (the
      // responses keep the request alive on Workers) and ends with the last one; it never rejects.
      void this.#poll(voucherId, sale)
    }
    const mine = sale
    if (!mine.listeners.has(listener)) this.listeners++
    mine.listeners.add(listener)
    return () => this.#detach(voucherId, mine, listener)
  }

  /** Sales watched now (one poller each). */
  get sales(): number {
    return this.#sales.size
  }

  /** Resolves once `reads` reaches `n` (tests: a window of n reads, without a timer). */
  untilReads(n: number): Promise<void> {
    if (this.reads >= n) return Promise.resolve()
    return new Promise((resolve) => this.#readWaiters.push({ reads: n, resolve }))
  }

  #counted() {
    this.reads++
    const due = this.#readWaiters.filter((w) => w.reads <= this.reads)
    if (due.length === 0) return
    this.#readWaiters = this.#readWaiters.filter((w) => w.reads > this.reads)
    for (const w of due) w.resolve()
  }

  #detach(voucherId: string, sale: WatchedSale, listener: StockListener) {
    if (!sale.listeners.delete(listener)) return
    this.listeners--
    if (sale.listeners.size > 0) return
    sale.stop.abort()
    if (this.#sales.get(voucherId) === sale) this.#sales.delete(voucherId)
  }

  /** Never rejects; ends when the last listener leaves. */
  async #poll(voucherId: string, sale: WatchedSale) {
    let last: number | null = null
    for (;;) {
      await this.#clock.sleep(this.#everyMs, sale.stop.signal)
      if (sale.stop.signal.aborted) return
      try {
        const stock = await this.#ledger.remaining(voucherId)
        this.#counted()
        if (stock === null || stock === last) continue
        last = stock
        for (const listener of [...sale.listeners]) listener.stock(stock)
      } catch {
        // Redis unreachable (or, on Workers, the request's subrequest limit): end these streams.
        for (const listener of [...sale.listeners]) {
          this.#detach(voucherId, sale, listener)
          listener.lost()
        }
      }
    }
  }
}

export interface StockListener {
  stock(stock: number): void
  lost(): void
}

interface WatchedSale {
  listeners: Set<StockListener>
  stop: AbortController
}

/** What the flash-sale use cases need to announce changes (absent: nothing is announced). */
export interface LiveSeckill {
  broadcast: Broadcast
  stock: StockFeed
}

interface AnnounceDeps {
  live?: LiveSeckill
  background(work: Promise<unknown>): void
}

/** Publishes an order's new state after the change (best effort, in the background). */
export function announceOrder(deps: AnnounceDeps, order: Order): void {
  if (!deps.live) return
  const message = JSON.stringify(orderEvent(order))
  deps.background(deps.live.broadcast.publish(orderChannel(order.id), message))
}
