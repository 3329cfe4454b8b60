import { and, desc, eq, getTableColumns, gt, gte, inArray, lt, type SQL, sql } from 'drizzle-orm'
import type {
  NewVoucher,
  Order,
  OrderRepository,
  PersistResult,
  Voucher,
  VoucherRepository,
} from '../../domain/ports/vouchers.ts'
import type { Database } from './db.ts'
import { idKey } from './ids.ts'
import {
  type OrderRow,
  type SeckillRow,
  seckillVouchers,
  type VoucherRow,
  voucherOrders,
  vouchers,
} from './schema-seckill.ts'

function must(id: string): bigint {
  const k = idKey(id)
  if (k === null) throw new RangeError(`not a decimal id: ${id}`)
  return k
}

function toVoucher(v: VoucherRow, s: SeckillRow | null): Voucher {
  return {
    id: v.id.toString(),
    shopId: v.shopId.toString(),
    title: v.title,
    subTitle: v.subTitle,
    rules: v.rules,
    payValue: v.payValue,
    actualValue: v.actualValue,
    kind: v.kind as Voucher['kind'],
    status: v.status as Voucher['status'],
    createdAt: v.createdAt.getTime(),
    seckill: s
      ? {
          stock: s.stock,
          initialStock: s.initialStock,
          beginAt: s.beginAt.getTime(),
          endAt: s.endAt.getTime(),
          perUserLimit: s.perUserLimit,
        }
      : null,
  }
}

function toOrder(o: OrderRow): Order {
  return {
    id: o.id.toString(),
    userId: o.userId.toString(),
    voucherId: o.voucherId.toString(),
    seq: o.seq,
    status: o.status as Order['status'],
    createdAt: o.createdAt.getTime(),
    paidAt: o.paidAt?.getTime() ?? null,
    cancelledAt: o.cancelledAt?.getTime() ?? null,
    failReason: o.failReason,
  }
}

/** Vouchers and their sale terms (`vouchers` + `seckill_vouchers`). */
export class DrizzleVoucherRepository implements VoucherRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  async create(input: NewVoucher): Promise<Voucher> {
    return this.#db.transaction(async (tx) => {
      const [v] = await tx
        .insert(vouchers)
        .values({
          shopId: must(input.shopId),
          title: input.title,
          subTitle: input.subTitle,
          rules: input.rules,
          payValue: input.payValue,
          actualValue: input.actualValue,
          kind: input.seckill ? 'seckill' : 'normal',
        })
        .returning()
      let s: SeckillRow | undefined
      if (input.seckill) {
        ;[s] = await tx
          .insert(seckillVouchers)
          .values({
            voucherId: v!.id,
            stock: input.seckill.stock,
            initialStock: input.seckill.stock,
            beginAt: new Date(input.seckill.beginAt),
            endAt: new Date(input.seckill.endAt),
            perUserLimit: input.seckill.perUserLimit,
          })
          .returning()
      }
      return toVoucher(v!, s ?? null)
    })
  }

  #select() {
    return this.#db
      .select()
      .from(vouchers)
      .leftJoin(seckillVouchers, eq(seckillVouchers.voucherId, vouchers.id))
  }

  async findById(id: string): Promise<Voucher | null> {
    const k = idKey(id)
    if (k === null) return null
    const [row] = await this.#select().where(eq(vouchers.id, k)).limit(1)
    return row ? toVoucher(row.vouchers, row.seckill_vouchers) : null
  }

  async listByShop(shopId: string): Promise<Voucher[]> {
    const k = idKey(shopId)
    if (k === null) return []
    const rows = await this.#select()
      .where(and(eq(vouchers.shopId, k), eq(vouchers.status, 'on')))
      .orderBy(desc(vouchers.id))
    return rows.map((r) => toVoucher(r.vouchers, r.seckill_vouchers))
  }

  async listSeckillEndingAfter(endsAfter: number): Promise<Voucher[]> {
    const rows = await this.#db
      .select()
      .from(vouchers)
      .innerJoin(seckillVouchers, eq(seckillVouchers.voucherId, vouchers.id))
      .where(gte(seckillVouchers.endAt, new Date(endsAfter)))
      .orderBy(vouchers.id)
    return rows.map((r) => toVoucher(r.vouchers, r.seckill_vouchers))
  }
}

/**
 * `seckill_persist`'s row: the outcome, and the order for 'created' and 'exists' (else nulls) in
 * columns named as voucher_orders' own, each decoded as the table's column would be.
 */
const persistRow = {
  result: sql<PersistResult['result']>`result`,
  ...(Object.fromEntries(
    Object.entries(getTableColumns(voucherOrders)).map(([key, column]) => [
      key,
      sql`${sql.identifier(column.name)}`.mapWith(column),
    ])
  ) as { [K in keyof OrderRow]: SQL<OrderRow[K]> }),
}

/** Orders (`voucher_orders`) with the database side of the stock. */
export class DrizzleOrderRepository implements OrderRepository {
  readonly #db: Database

  constructor(db: Database) {
    this.#db = db
  }

  /** One order: `persistMany` of one (the same single statement). */
  async persist(
    order: Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'>,
    now: number
  ): Promise<PersistResult> {
    const [result] = await this.persistMany([{ ...order, createdAt: now }])
    return result!
  }

  /**
   * One statement, one round trip, whatever the number of orders: `seckill_persist_many`
   * (migration 0006) locks the stock rows of the group's sales (in voucher order, so concurrent
   * groups never deadlock), then runs `seckill_persist` (migration 0005) per order, in the
   * statement's own transaction (an error rolls every order back), with the outcomes of the
   * INSERT-then-UPDATE transaction it replaced. Each sale's stock row stays locked only until the
   * server's commit. The columns travel as five array parameters (ids as text: bigint-exact).
   */
  async persistMany(
    orders: readonly (Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'> & { createdAt: number })[]
  ): Promise<PersistResult[]> {
    if (orders.length === 0) return []
    for (const o of orders) {
      if (!Number.isInteger(o.seq)) throw new RangeError(`not an integer seq: ${o.seq}`)
    }
    const array = (values: readonly unknown[]) => `{${values.join(',')}}`
    const args = sql.join(
      [
        sql`${array(orders.map((o) => must(o.id)))}::int8[]`,
        sql`${array(orders.map((o) => must(o.userId)))}::int8[]`,
        sql`${array(orders.map((o) => must(o.voucherId)))}::int8[]`,
        sql`${array(orders.map((o) => o.seq))}::int4[]`,
        sql`${array(orders.map((o) => `"${new Date(o.createdAt).toISOString()}"`))}::timestamptz[]`,
      ],
      sql`, `
    )
    const rows = await this.#db
      .select({ n: sql<number>`n`.mapWith(Number), ...persistRow })
      .from(sql`seckill_persist_many(${args})`)
    if (rows.length !== orders.length) throw new Error('seckill_persist_many lost an order')
    const results: PersistResult[] = new Array(orders.length)
    for (const { n, result, ...stored } of rows) {
      results[n - 1] =
        result === 'sold-out' || result === 'duplicate'
          ? { result }
          : { result, order: toOrder(stored) }
    }
    return results
  }

  async markFailed(
    order: Pick<Order, 'id' | 'userId' | 'voucherId' | 'seq'>,
    reason: string,
    now: number
  ): Promise<Order> {
    const id = must(order.id)
    await this.#db
      .insert(voucherOrders)
      .values({
        id,
        userId: must(order.userId),
        voucherId: must(order.voucherId),
        seq: order.seq,
        status: 'failed',
        failReason: reason,
        createdAt: new Date(now),
      })
      .onConflictDoNothing({ target: voucherOrders.id })
    const [row] = await this.#db.select().from(voucherOrders).where(eq(voucherOrders.id, id))
    return toOrder(row!)
  }

  async pay(id: string, userId: string, now: number) {
    const k = idKey(id)
    const u = idKey(userId)
    if (k === null || u === null) return { changed: false, order: null }
    const [row] = await this.#db
      .update(voucherOrders)
      .set({ status: 'paid', paidAt: new Date(now) })
      .where(
        and(
          eq(voucherOrders.id, k),
          eq(voucherOrders.userId, u),
          eq(voucherOrders.status, 'unpaid')
        )
      )
      .returning()
    if (row) return { changed: true, order: toOrder(row) }
    const order = await this.findById(id)
    return { changed: false, order: order?.userId === userId ? order : null }
  }

  async cancel(id: string, userId: string | null, now: number) {
    const k = idKey(id)
    const u = userId === null ? null : idKey(userId)
    if (k === null || (userId !== null && u === null)) return { changed: false, order: null }
    const changed = await this.#db.transaction(async (tx) => {
      const [row] = await tx
        .update(voucherOrders)
        .set({ status: 'cancelled', cancelledAt: new Date(now) })
        .where(
          and(
            eq(voucherOrders.id, k),
            eq(voucherOrders.status, 'unpaid'),
            u === null ? undefined : eq(voucherOrders.userId, u)
          )
        )
        .returning()
      if (!row) return null
      await tx
        .update(seckillVouchers)
        .set({ stock: sql`${seckillVouchers.stock} + 1` })
        .where(eq(seckillVouchers.voucherId, row.voucherId))
      return toOrder(row)
    })
    if (changed) return { changed: true, order: changed }
    const order = await this.findById(id)
    return { changed: false, order: userId === null || order?.userId === userId ? order : null }
  }

  async findById(id: string): Promise<Order | null> {
    const k = idKey(id)
    if (k === null) return null
    const [row] = await this.#db.select().from(voucherOrders).where(eq(voucherOrders.id, k))
    return row ? toOrder(row) : null
  }

  async listByVoucher(voucherId: string): Promise<Order[]> {
    const k = idKey(voucherId)
    if (k === null) return []
    const rows = await this.#db
      .select()
      .from(voucherOrders)
      .where(eq(voucherOrders.voucherId, k))
      .orderBy(voucherOrders.createdAt)
    return rows.map(toOrder)
  }

  async listUnpaidBefore(createdBefore: number, limit: number, voucherId?: string) {
    const v = voucherId === undefined ? undefined : idKey(voucherId)
    if (v === null) return []
    const rows = await this.#db
      .select()
      .from(voucherOrders)
      .where(
        and(
          eq(voucherOrders.status, 'unpaid'),
          lt(voucherOrders.createdAt, new Date(createdBefore)),
          v === undefined ? undefined : eq(voucherOrders.voucherId, v)
        )
      )
      .orderBy(voucherOrders.createdAt)
      .limit(limit)
    return rows.map(toOrder)
  }

  async listByVoucherAfter(voucherId: string, afterId: string, limit: number) {
    const k = idKey(voucherId)
    const after = afterId === '' ? 0n : idKey(afterId)
    if (k === null || after === null) return []
    const rows = await this.#db
      .select()
      .from(voucherOrders)
      .where(and(eq(voucherOrders.voucherId, k), gt(voucherOrders.id, after)))
      .orderBy(voucherOrders.id)
      .limit(limit)
    return rows.map(toOrder)
  }

  async findByIds(ids: readonly string[]) {
    const keys = ids.map(idKey).filter((k): k is bigint => k !== null)
    if (keys.length === 0) return []
    const rows = await this.#db.select().from(voucherOrders).where(inArray(voucherOrders.id, keys))
    return rows.map(toOrder)
  }

  async auditStock(voucherId: string, repair: boolean) {
    const k = idKey(voucherId)
    if (k === null) return null
    const live = sql<number>`(select count(*)::int from ${voucherOrders}
      where ${voucherOrders.voucherId} = ${k} and ${voucherOrders.status} in ('unpaid', 'paid'))`
    // One statement = one snapshot: the stock and the orders it must match, read together, no lock.
    const [seen] = await this.#db
      .select({
        stock: seckillVouchers.stock,
        expected: sql<number>`${seckillVouchers.initialStock} - ${live}`,
      })
      .from(seckillVouchers)
      .where(eq(seckillVouchers.voucherId, k))
    if (!seen) return null
    if (repair && seen.stock !== seen.expected) {
      await this.#db.transaction(async (tx) => {
        // Holding the sale row blocks this sale's persists and cancels while we count again.
        const [sale] = await tx
          .select()
          .from(seckillVouchers)
          .where(eq(seckillVouchers.voucherId, k))
          .for('update')
        const [now] = await tx
          .select({ n: live })
          .from(seckillVouchers)
          .where(eq(seckillVouchers.voucherId, k))
        await tx
          .update(seckillVouchers)
          .set({ stock: sale!.initialStock - (now?.n ?? 0) })
          .where(eq(seckillVouchers.voucherId, k))
      })
    }
    return { stock: seen.stock, expected: seen.expected }
  }
}
