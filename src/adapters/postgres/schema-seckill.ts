import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  index,
  integer,
  pgTable,
  text,
  timestamp,
  uniqueIndex,
  varchar,
} from 'drizzle-orm/pg-core'
import { shops, users } from './schema.ts'

const ts = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' })

/** Vouchers of a shop; values in fen (1/100 yuan). `kind` 'seckill' has a seckill_vouchers row. */
export const vouchers = pgTable(
  'vouchers',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
    shopId: bigint('shop_id', { mode: 'bigint' })
      .notNull()
      .references(() => shops.id),
    title: varchar('title', { length: 128 }).notNull(),
    subTitle: varchar('sub_title', { length: 255 }).notNull().default(''),
    rules: text('rules').notNull().default(''),
    payValue: integer('pay_value').notNull(),
    actualValue: integer('actual_value').notNull(),
    kind: varchar('kind', { length: 8 }).notNull(),
    status: varchar('status', { length: 4 }).notNull().default('on'),
    createdAt: ts('created_at').notNull().defaultNow(),
  },
  (t) => [
    index('vouchers_shop_idx').on(t.shopId),
    check('vouchers_kind', sql`${t.kind} in ('normal', 'seckill')`),
    check('vouchers_status', sql`${t.status} in ('on', 'off')`),
    check('vouchers_values', sql`${t.payValue} >= 0 and ${t.actualValue} >= 0`),
  ]
)

/** The sale terms and the database side of the stock (decremented when an order is persisted). */
export const seckillVouchers = pgTable(
  'seckill_vouchers',
  {
    voucherId: bigint('voucher_id', { mode: 'bigint' })
      .primaryKey()
      .references(() => vouchers.id),
    stock: integer('stock').notNull(),
    initialStock: integer('initial_stock').notNull(),
    beginAt: ts('begin_at').notNull(),
    endAt: ts('end_at').notNull(),
    perUserLimit: integer('per_user_limit').notNull().default(1),
  },
  (t) => [
    index('seckill_vouchers_end_idx').on(t.endAt),
    check('seckill_stock', sql`${t.stock} >= 0 and ${t.stock} <= ${t.initialStock}`),
    check('seckill_window', sql`${t.endAt} > ${t.beginAt}`),
    check('seckill_limit', sql`${t.perUserLimit} >= 1`),
  ]
)

/**
 * Orders. The id comes from the Ids port (not a sequence). A user's live orders of a voucher are
 * unique per `seq` (1..per-user limit, assigned by the Redis ledger): the database's last line of
 * defence for one-order-per-user. Failed orders stay for the record but hold no slot.
 */
export const voucherOrders = pgTable(
  'voucher_orders',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey(),
    userId: bigint('user_id', { mode: 'bigint' })
      .notNull()
      .references(() => users.id),
    voucherId: bigint('voucher_id', { mode: 'bigint' })
      .notNull()
      .references(() => vouchers.id),
    seq: integer('seq').notNull().default(1),
    status: varchar('status', { length: 10 }).notNull(),
    failReason: text('fail_reason'),
    createdAt: ts('created_at').notNull(),
    paidAt: ts('paid_at'),
    cancelledAt: ts('cancelled_at'),
  },
  (t) => [
    uniqueIndex('voucher_orders_live_slot')
      .on(t.userId, t.voucherId, t.seq)
      .where(sql`${t.status} <> 'failed'`),
    // Keyset pages of a sale's orders by id (reconciliation's cursor).
    index('voucher_orders_voucher_id_idx').on(t.voucherId, t.id),
    // Unpaid orders by age: reconciliation cancels those past their payment deadline.
    index('voucher_orders_unpaid_idx').on(t.createdAt).where(sql`${t.status} = 'unpaid'`),
    index('voucher_orders_user_idx').on(t.userId),
    check('voucher_orders_status', sql`${t.status} in ('unpaid', 'paid', 'cancelled', 'failed')`),
  ]
)

export type VoucherRow = typeof vouchers.$inferSelect
export type SeckillRow = typeof seckillVouchers.$inferSelect
export type OrderRow = typeof voucherOrders.$inferSelect
