export interface SeckillTerms {
  stock: number
  initialStock: number
  /** Unix ms; the sale is open in [beginAt, endAt). */
  beginAt: number
  endAt: number
  perUserLimit: number
}

export interface Voucher {
  id: string
  shopId: string
  title: string
  subTitle: string
  rules: string
  /** What the buyer pays, in fen (1/100 yuan). */
  payValue: number
  /** What the voucher is worth, in fen. */
  actualValue: number
  kind: 'normal' | 'seckill'
  status: 'on' | 'off'
  /** Present for seckill vouchers. */
  seckill: SeckillTerms | null
  createdAt: number
}

export type NewVoucher = Omit<Voucher, 'id' | 'createdAt' | 'seckill' | 'kind' | 'status'> & {
  seckill?: Omit<SeckillTerms, 'initialStock'>
}

export interface VoucherRepository {
  /** Creates a voucher (and its sale terms, in the same transaction). */
  create(input: NewVoucher): Promise<Voucher>
  /** null when absent or not a decimal id. */
  findById(id: string): Promise<Voucher | null>
  /** Vouchers of a shop that are on, newest first. */
  listByShop(shopId: string): Promise<Voucher[]>
  /** Seckill vouchers whose sale ends at or after `endsAfter` (unix ms). */
  listSeckillEndingAfter(endsAfter: number): Promise<Voucher[]>
}

export type OrderStatus = 'unpaid' | 'paid' | 'cancelled' | 'failed'

export interface Order {
  id: string
  userId: string
  voucherId: string
  seq: number
  status: OrderStatus
  /** Unix ms. */
  createdAt: number
  paidAt: number | null
  cancelledAt: number | null
  /** Why a failed order failed (no secrets). */
  failReason: string | null
}

export type PersistResult =
  | { result: 'created'; order: Order }
  /** The order id exists already (a redelivery, or it was marked failed). */
  | { result: 'exists'; order: Order }
  /** No database stock left: the ledger admitted more than the database holds. */
  | { result: 'sold-out' }
  /** Another live order already holds this user's `seq` for the voucher. */
  | { result: 'duplicate' }

export interface OrderRepository {
  /**
   * One transaction: insert the order as unpaid and take one unit of database stock
   * (`stock > 0` guard). Idempotent on the order id; live orders are unique per (user, voucher, seq).
   */
  persist(
    order: Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'>,
    now: number
  ): Promise<PersistResult>
  /**
   * `persist` for several orders (each with its own createdAt, Unix ms) in ONE statement and
   * transaction: all or nothing (an error persists none of them), each with `persist`'s outcome, in
   * input order. The sales' stock is locked before any order is inserted, in one order for every
   * call, so concurrent calls over the same sales and orders never deadlock. An empty list costs
   * nothing.
   */
  persistMany(
    orders: readonly (Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'> & { createdAt: number })[]
  ): Promise<PersistResult[]>
  /** Records the order as failed unless it already exists; returns the order as stored. */
  markFailed(
    order: Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'>,
    reason: string,
    now: number
  ): Promise<Order>
  /** Compare-and-set unpaid → paid (of `userId`'s order). `changed` is false when it was not unpaid. */
  pay(id: string, userId: string, now: number): Promise<{ changed: boolean; order: Order | null }>
  /**
   * One transaction: compare-and-set unpaid → cancelled and give the unit back to the database
   * stock. `userId` null = on behalf of the system (payment timeout).
   */
  cancel(
    id: string,
    userId: string | null,
    now: number
  ): Promise<{ changed: boolean; order: Order | null }>
  /** null when absent. */
  findById(id: string): Promise<Order | null>
  /** Every order of a voucher (loading a sale into the ledger). */
  listByVoucher(voucherId: string): Promise<Order[]>
  /** Up to `limit` orders of a voucher with ids above `afterId` ('' = from the start), by id. */
  listByVoucherAfter(voucherId: string, afterId: string, limit: number): Promise<Order[]>
  /** The orders of these ids that exist (any order). */
  findByIds(ids: readonly string[]): Promise<Order[]>
  /**
   * Unpaid orders (of one voucher, or of any when `voucherId` is undefined) persisted before
   * `createdBefore` (unix ms), oldest first, at most `limit`: those past their payment deadline.
   */
  listUnpaidBefore(createdBefore: number, limit: number, voucherId?: string): Promise<Order[]>
  /**
   * Compares the database stock with initialStock − live (unpaid + paid) orders, both read in one
   * snapshot without locking; with `repair` and a difference, sets it right holding only the sale's
   * row, briefly. null when the voucher has no sale.
   */
  auditStock(
    voucherId: string,
    repair: boolean
  ): Promise<{ stock: number; expected: number } | null>
}
