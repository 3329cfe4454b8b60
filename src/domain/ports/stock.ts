/** Where a reservation stands in Redis. */
export type LedgerState =
  /** accepted, waiting in the outbox to be persisted */
  | 'pending'
  /** persisted in Postgres; holds one unit of stock */
  | 'committed'
  /** cancelled after persisting: stock returned, the buyer's quota still used */
  | 'cancelled'
  /** never persisted: stock and quota returned */
  | 'failed'

export interface SaleTerms {
  voucherId: string
  /** Units left. */
  stock: number
  /** Units the sale started with. */
  initialStock: number
  /** Unix ms; the sale is open in [beginAt, endAt). */
  beginAt: number
  endAt: number
  /** Reservations one user may hold. */
  perUserLimit: number
}

export interface Reservation {
  voucherId: string
  orderId: string
  userId: string
  /** The user's n-th reservation of this sale (1-based). */
  seq: number
  /** Unix ms. */
  acceptedAt: number
  state: LedgerState
}

export type Refusal = 'SALE_NOT_STARTED' | 'SALE_ENDED' | 'ALREADY_PURCHASED' | 'SOLD_OUT'

/**
 * A sale's admission token bucket: `tokens` acceptances per `intervalMs`, bursting up to `tokens`
 * (refilled in whole intervals, like @upstash/ratelimit's tokenBucket). Kept with the sale itself.
 */
export interface SaleBucket {
  tokens: number
  intervalMs: number
}

export type ReserveOutcome =
  | { kind: 'accepted'; orderId: string; seq: number }
  | { kind: 'refused'; reason: Refusal }
  /** The idempotency key was accepted before: that acceptance (refusals are not recorded). */
  | { kind: 'replayed'; orderId: string }
  /** The sale's admission bucket is empty: nothing was taken; try again in `retryAfterMs`. */
  | { kind: 'throttled'; retryAfterMs: number }
  /** The sale is not in the ledger: load it (`load`) and try again. */
  | { kind: 'not-loaded' }

export type TransitionResult = {
  outcome: 'applied' | 'unchanged' | 'refused' | 'not-loaded'
  /** The state before the call ('unknown' = the ledger had no record of the order). */
  from: LedgerState | 'unknown'
}

export interface SaleAudit {
  stock: number
  /** initialStock − (pending + committed) */
  expectedStock: number
  /** users whose held-reservation count disagrees with the order records */
  buyersOff: number
  pending: number
  committed: number
  cancelled: number
  failed: number
}

/** A sale's counters, kept with every change (reading them is O(1)). */
export interface LedgerCounters {
  stock: number
  initialStock: number
  pending: number
  committed: number
  cancelled: number
  failed: number
  /** Where reconciliation left off ('' = at the start). */
  cursor: string
  /** false for a sale loaded before the counters were kept: they read 0 until a full audit repair. */
  counted: boolean
}

/**
 * The fast, authoritative-for-admission side of a flash sale (Redis): stock, the per-user limit,
 * and an outbox of accepted reservations. Every method is one atomic step on one sale.
 */
export interface StockLedger {
  /**
   * When `reserve` records `orderId → voucherId` (see `saleOf`):
   * - 'every-call': in the reservation's own round trip, whatever the outcome (one round trip per
   *   purchase, e.g. over REST): call `forget` for an order id that was not accepted;
   * - 'accepted': only for an acceptance or a replay (the replayed order id: a replay writes a
   *   lost record again), after the script and before `reserve` resolves (a second round trip
   *   for those, e.g. over TCP where one is cheap): a refusal, a throttled or not-loaded call
   *   leaves no record, so nothing is to be forgotten.
   * Either way a crash between the script and the record can leave an accepted order without
   * one; its client never got the order id (the answer waits for the record), and the relay
   * writes it back (`remember`) before republishing the order.
   */
  readonly saleIndex: 'every-call' | 'accepted'
  /**
   * Loads a sale that is missing from the ledger, with the reservations it must already know
   * (e.g. orders Postgres has). Never overwrites a loaded sale; returns false then.
   */
  load(terms: SaleTerms, known: readonly Reservation[]): Promise<boolean>
  /**
   * Admits one reservation: checks the window, the user's limit and the stock, takes one unit and
   * records the reservation as pending in the outbox — atomically. With an idempotency key, a
   * repeated call returns the key's acceptance instead of reserving again (only acceptances are
   * recorded, until the sale's keys expire: a refusal took nothing and is answered afresh); a call repeated with the
   * same order id (a retry after a lost reply) returns its first acceptance. Once an `accepted`
   * or `replayed` outcome resolves, `saleOf` answers the voucher for its order id (a client
   * polling the order right after its 202 finds it). How the other outcomes leave `saleOf` is
   * told by `saleIndex`.
   *
   * With a `bucket`, an acceptance also takes one token from the sale's admission bucket, in the
   * same atomic step: when it is empty the call is `throttled` and changes nothing else. Only
   * would-be acceptances are metered — a retry of the same order id, an idempotent replay and every
   * refusal (window, per-user limit, sold out) answer without touching the bucket.
   */
  reserve(input: {
    voucherId: string
    userId: string
    orderId: string
    idempotencyKey?: string
    bucket?: SaleBucket
  }): Promise<ReserveOutcome>
  /**
   * Moves a reservation to `to` if its current state is in `from` ('any' = any state, including
   * unknown: then `adopt` describes it), returning stock and quota exactly once per transition.
   */
  transition(
    voucherId: string,
    orderId: string,
    to: Exclude<LedgerState, 'pending'>,
    from: readonly (LedgerState | 'unknown')[] | 'any',
    adopt?: { userId: string; seq: number; acceptedAt: number }
  ): Promise<TransitionResult>
  /** Pending reservations accepted at or before `acceptedBefore` (unix ms), oldest first. */
  outbox(voucherId: string, acceptedBefore: number, limit: number): Promise<Reservation[]>
  /** Units left (one read, for live stock announcements), or null when the sale is not loaded. */
  remaining(voucherId: string): Promise<number | null>
  /** The sale an order id was reserved in (constant time, any number of sales), or null. */
  saleOf(orderId: string): Promise<string | null>
  /** Drops the `saleOf` record of an order id that was not accepted (idempotent). */
  forget(orderId: string): Promise<void>
  /**
   * Records `orderId → voucherId` for these order ids of one sale, keeping any record that
   * exists (the relay: accepted orders whose record a crash may have lost). One round trip.
   */
  remember(voucherId: string, orderIds: readonly string[]): Promise<void>
  /** The ledger's record of one order, or null. */
  find(voucherId: string, orderId: string): Promise<Reservation | null>
  /** Every reservation of a sale (O(sale): tests and tools, never the cron), or null when not loaded. */
  reservations(voucherId: string): Promise<Reservation[] | null>
  /**
   * Compares the counters with every record (O(sale): tests and tools, never the cron); with
   * `repair`, rewrites the counters from them.
   */
  audit(voucherId: string, repair: boolean): Promise<SaleAudit | null>
  /** The sale's counters and reconciliation cursor in O(1), or null when not loaded. */
  counters(voucherId: string): Promise<LedgerCounters | null>
  /** The records of these orders (null = unknown), in one round trip. */
  records(voucherId: string, orderIds: readonly string[]): Promise<(Reservation | null)[]>
  /**
   * One step of a full pass over the sale's records: about `count` of them from `cursor` ('0' =
   * start), and the cursor to continue from ('0' when the pass is complete). Records may repeat.
   */
  scan(
    voucherId: string,
    cursor: string,
    count: number
  ): Promise<{ next: string; reservations: Reservation[] }>
  /** Stores reconciliation's cursor with the sale (nothing when it is not loaded). */
  setCursor(voucherId: string, cursor: string): Promise<void>
  /** Sets stock to initialStock − (pending + committed) by the counters, atomically. */
  fixStock(voucherId: string): Promise<void>
}
