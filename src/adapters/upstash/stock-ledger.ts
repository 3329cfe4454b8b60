import type { Clock } from '../../domain/ports/clock.ts'
import type {
  LedgerCounters,
  LedgerState,
  Refusal,
  Reservation,
  ReserveOutcome,
  SaleAudit,
  SaleBucket,
  SaleTerms,
  StockLedger,
  TransitionResult,
} from '../../domain/ports/stock.ts'
import { type Redis, redisCall } from './client.ts'
import { evalLua } from './lua.ts'

const STATE_OF: Record<string, LedgerState> = {
  p: 'pending',
  c: 'committed',
  k: 'cancelled',
  x: 'failed',
}
const LETTER_OF: Record<LedgerState, string> = {
  pending: 'p',
  committed: 'c',
  cancelled: 'k',
  failed: 'x',
}
const REFUSALS: Record<number, Refusal> = {
  1: 'SALE_NOT_STARTED',
  2: 'SALE_ENDED',
  3: 'ALREADY_PURCHASED',
  4: 'SOLD_OUT',
}
/** Entries per load call (keeps each request well under REST body limits). */
const LOAD_CHUNK = 1_000

export interface UpstashStockLedgerOptions {
  /** How long a sale's keys outlive its end, ms. */
  retentionMs: number
  /**
   * When `reserve` writes the `saleOf` record (StockLedger.saleIndex; default 'every-call': in the
   * script's own pipelined request, the REST budget of one HTTP request per reservation).
   * 'accepted' writes it only after an acceptance or a replay (TCP: a round trip costs little, and
   * a refusal then costs no SET and no DEL).
   */
  saleIndex?: 'every-call' | 'accepted'
}

/**
 * A flash sale in Redis under one hash tag `{<voucherId>}`: `sk:{v}` (terms and stock),
 * `sk:{v}:buyers`, `sk:{v}:orders` (order states), `sk:{v}:outbox`, `sk:{v}:idem`; the sale's
 * admission bucket lives in `sk:{v}` itself (fields `bt`, `br`). Every method is
 * one script call from lua/seckill-*.lua. Beside them, `sk:o:{<orderId>}` → 'v' + voucher id (the
 * `saleOf` index, living `retentionMs`; written in the reservation's pipelined request, or only
 * after an acceptance with `saleIndex: 'accepted'`). Order ids are stored with an 'o' prefix so no client
 * ever parses them as (lossy) JSON numbers. Replies are read with `Number`/`String`, so any client
 * works; over TCP the app gives it the raw-replies one (the SDK's automatic deserialization throws and
 * catches a SyntaxError for every non-JSON string of a reply: 'OK', 'o<id>', '' — CPU on the
 * hot path for nothing).
 */
export class UpstashStockLedger implements StockLedger {
  readonly #redis: Redis
  readonly #clock: Clock
  readonly #prefix: string
  readonly #retentionMs: number
  readonly saleIndex: 'every-call' | 'accepted'

  constructor(redis: Redis, clock: Clock, prefix: string, options: UpstashStockLedgerOptions) {
    this.#redis = redis
    this.#clock = clock
    this.#prefix = prefix
    this.#retentionMs = options.retentionMs
    this.saleIndex = options.saleIndex ?? 'every-call'
  }

  #keys(voucherId: string) {
    const sale = `${this.#prefix}sk:{${voucherId}}`
    return {
      sale,
      buyers: `${sale}:buyers`,
      orders: `${sale}:orders`,
      outbox: `${sale}:outbox`,
      idem: `${sale}:idem`,
    }
  }

  async load(terms: SaleTerms, known: readonly Reservation[]): Promise<boolean> {
    const k = this.#keys(terms.voucherId)
    const now = String(this.#clock.now())
    const held = new Map<string, number>()
    const n: Record<LedgerState, number> = { pending: 0, committed: 0, cancelled: 0, failed: 0 }
    for (const r of known) {
      n[r.state] += 1
      if (r.state !== 'failed') held.set(r.userId, (held.get(r.userId) ?? 0) + 1)
    }
    const head = [
      String(terms.stock),
      String(terms.initialStock),
      String(terms.beginAt),
      String(terms.endAt),
      String(terms.perUserLimit),
      now,
      String(this.#retentionMs),
      ...[n.pending, n.committed, n.cancelled, n.failed].map(String),
    ]
    const chunks: Reservation[][] = []
    for (let i = 0; i < known.length; i += LOAD_CHUNK) chunks.push(known.slice(i, i + LOAD_CHUNK))
    if (chunks.length === 0) chunks.push([])
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1
      const entries = chunk.flatMap((r) => [
        r.orderId,
        `${LETTER_OF[r.state]}|${r.userId}|${r.seq}|${r.acceptedAt}`,
        String(held.get(r.userId) ?? 0),
      ])
      const written = await redisCall(() =>
        evalLua<number>(
          this.#redis,
          'seckillLoad',
          [k.sale, k.buyers, k.orders],
          [last ? '1' : '0', ...head, ...entries]
        )
      )
      if (written === 0) return false
    }
    return true
  }

  async reserve(input: {
    voucherId: string
    userId: string
    orderId: string
    idempotencyKey?: string
    bucket?: SaleBucket
  }): Promise<ReserveOutcome> {
    const k = this.#keys(input.voucherId)
    const bucket = input.bucket
      ? [String(input.bucket.tokens), String(input.bucket.intervalMs)]
      : []
    const script = () =>
      evalLua<[number, string, number?]>(
        this.#redis,
        'seckillReserve',
        [k.sale, k.buyers, k.orders, k.outbox, k.idem],
        [
          input.userId,
          input.orderId,
          String(this.#clock.now()),
          input.idempotencyKey ?? '',
          String(this.#retentionMs),
          ...bucket,
        ]
      )
    let reply: [number, string, number?]
    if (this.saleIndex === 'every-call') {
      // Both issued in the same tick: one pipelined HTTP request.
      ;[reply] = await redisCall(() =>
        Promise.all([script(), this.#index(input.orderId, input.voucherId)])
      )
    } else {
      reply = await redisCall(script)
      // An acceptance (or a retry of it) and a replay: the record before the answer.
      if (reply[0] === 0 || reply[0] === 5) {
        await redisCall(() => this.#index(reply[1].slice(1), input.voucherId))
      }
    }
    const [code, value, extra] = reply
    if (code === 0) return { kind: 'accepted', orderId: value.slice(1), seq: Number(extra) }
    if (code === -1) return { kind: 'not-loaded' }
    if (code === 5) return { kind: 'replayed', orderId: value.slice(1) }
    if (code === 6) return { kind: 'throttled', retryAfterMs: Number(extra) }
    return { kind: 'refused', reason: REFUSALS[code]! }
  }

  async transition(
    voucherId: string,
    orderId: string,
    to: Exclude<LedgerState, 'pending'>,
    from: readonly (LedgerState | 'unknown')[] | 'any',
    adopt?: { userId: string; seq: number; acceptedAt: number }
  ): Promise<TransitionResult> {
    const k = this.#keys(voucherId)
    const allowed =
      from === 'any' ? '*' : from.map((s) => (s === 'unknown' ? '-' : LETTER_OF[s])).join('')
    const [status, previous] = await redisCall(() =>
      evalLua<[number, string]>(
        this.#redis,
        'seckillTransition',
        [k.sale, k.buyers, k.orders, k.outbox],
        [
          orderId,
          LETTER_OF[to],
          allowed,
          adopt?.userId ?? '',
          String(adopt?.seq ?? 0),
          String(adopt?.acceptedAt ?? 0),
        ]
      )
    )
    if (status === -2) return { outcome: 'not-loaded', from: 'unknown' }
    const was = STATE_OF[previous] ?? 'unknown'
    const outcome = status === 1 ? 'applied' : status === 0 ? 'unchanged' : 'refused'
    return { outcome, from: was }
  }

  async outbox(voucherId: string, acceptedBefore: number, limit: number): Promise<Reservation[]> {
    const k = this.#keys(voucherId)
    const flat = await redisCall(() =>
      evalLua<string[]>(
        this.#redis,
        'seckillScan',
        [k.sale, k.buyers, k.orders, k.outbox],
        ['outbox', String(acceptedBefore), String(limit)]
      )
    )
    return pairs(flat).map(([field, value]) => parseReservation(voucherId, field, value))
  }

  async remaining(voucherId: string): Promise<number | null> {
    const stock = await redisCall(() =>
      this.#redis.hget<string | number>(this.#keys(voucherId).sale, 'stock')
    )
    return stock === null || stock === undefined ? null : Number(stock)
  }

  /** `sk:o:{<orderId>}` → voucher id (its own hash tag: written beside, not inside, the script). */
  #saleOfKey(orderId: string): string {
    return `${this.#prefix}sk:o:{${orderId}}`
  }

  /** Writes the `saleOf` record unless one exists. */
  #index(orderId: string, voucherId: string) {
    return this.#redis.set(this.#saleOfKey(orderId), `v${voucherId}`, {
      px: this.#retentionMs,
      nx: true,
    })
  }

  async remember(voucherId: string, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length === 0) return
    // Issued in the same tick: one pipelined request (their keys are in different slots).
    await redisCall(() => Promise.all(orderIds.map((id) => this.#index(id, voucherId))))
  }

  async saleOf(orderId: string): Promise<string | null> {
    const v = await redisCall(() => this.#redis.get<string>(this.#saleOfKey(orderId)))
    return typeof v === 'string' && v.startsWith('v') ? v.slice(1) : null
  }

  async forget(orderId: string): Promise<void> {
    await redisCall(() => this.#redis.del(this.#saleOfKey(orderId)))
  }

  async find(voucherId: string, orderId: string): Promise<Reservation | null> {
    const value = await redisCall(() =>
      this.#redis.hget<string>(this.#keys(voucherId).orders, `o${orderId}`)
    )
    return value ? parseReservation(voucherId, `o${orderId}`, String(value)) : null
  }

  async reservations(voucherId: string): Promise<Reservation[] | null> {
    const k = this.#keys(voucherId)
    const all = await redisCall(() =>
      evalLua<unknown[][]>(
        this.#redis,
        'seckillScan',
        [k.sale, k.buyers, k.orders, k.outbox],
        ['all']
      )
    )
    if (all.length === 0) return null
    return pairs((all[2] ?? []).map(String)).map(([f, v]) => parseReservation(voucherId, f, v))
  }

  #batch<T>(voucherId: string, args: string[]): Promise<T> {
    const k = this.#keys(voucherId)
    return redisCall(() => evalLua<T>(this.#redis, 'seckillBatch', [k.sale, k.orders], args))
  }

  async counters(voucherId: string): Promise<LedgerCounters | null> {
    const r = await this.#batch<string[]>(voucherId, ['counters'])
    if (r.length === 0) return null
    const [stock, initialStock, pending, committed, cancelled, failed] = r.slice(0, 6).map(Number)
    return {
      stock: stock!,
      initialStock: initialStock!,
      pending: pending!,
      committed: committed!,
      cancelled: cancelled!,
      failed: failed!,
      cursor: String(r[6] ?? ''),
      counted: Number(r[7]) === 1,
    }
  }

  async records(voucherId: string, orderIds: readonly string[]) {
    if (orderIds.length === 0) return []
    const values = await this.#batch<(string | null)[]>(voucherId, ['records', ...orderIds])
    return orderIds.map((id, i) => {
      const v = values[i]
      return v ? parseReservation(voucherId, `o${id}`, String(v)) : null
    })
  }

  async scan(voucherId: string, cursor: string, count: number) {
    const r = await this.#batch<string[]>(voucherId, ['scan', cursor, String(count)])
    if (r.length === 0) return { next: '0', reservations: [] }
    const reservations = pairs(r.slice(1).map(String)).map(([f, v]) =>
      parseReservation(voucherId, f, v)
    )
    return { next: String(r[0]), reservations }
  }

  async setCursor(voucherId: string, cursor: string): Promise<void> {
    await this.#batch<number>(voucherId, ['cursor', cursor])
  }

  async fixStock(voucherId: string): Promise<void> {
    await this.#batch<number>(voucherId, ['fix'])
  }

  async audit(voucherId: string, repair: boolean): Promise<SaleAudit | null> {
    const k = this.#keys(voucherId)
    const r = await redisCall(() =>
      evalLua<number[]>(
        this.#redis,
        'seckillAudit',
        [k.sale, k.buyers, k.orders],
        [repair ? '1' : '0']
      )
    )
    if (r.length === 0) return null
    const [stock, expectedStock, buyersOff, pending, committed, cancelled, failed] = r.map(Number)
    return {
      stock: stock!,
      expectedStock: expectedStock!,
      buyersOff: buyersOff!,
      pending: pending!,
      committed: committed!,
      cancelled: cancelled!,
      failed: failed!,
    }
  }
}

function pairs(flat: string[]): [string, string][] {
  const out: [string, string][] = []
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([String(flat[i]), String(flat[i + 1])])
  return out
}

/** 'o<id>' + 'state|user|seq|accepted_at' → Reservation. */
function parseReservation(voucherId: string, field: string, value: string): Reservation {
  const [letter, userId, seq, at] = value.split('|')
  return {
    voucherId,
    orderId: field.slice(1),
    userId: userId!,
    seq: Number(seq),
    acceptedAt: Number(at),
    state: STATE_OF[letter!] ?? 'failed',
  }
}
