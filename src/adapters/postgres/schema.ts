import { sql } from 'drizzle-orm'
import {
  bigint,
  check,
  doublePrecision,
  index,
  integer,
  pgTable,
  smallint,
  text,
  timestamp,
  varchar,
} from 'drizzle-orm/pg-core'

/**
 * Ids are int8 read in `bigint` mode (JS bigint), never `number`: identity values are exact past
 * 2^53 that way. Repositories turn them into the domain's decimal strings at the boundary.
 */
export const users = pgTable('users', {
  id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
  phone: varchar('phone', { length: 20 }).notNull().unique(),
  nickname: varchar('nickname', { length: 32 }).notNull(),
  icon: text('icon').notNull().default(''),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
})

export type UserRow = typeof users.$inferSelect

/** Shop categories (美食, KTV, ...), displayed by `sort`. */
export const shopTypes = pgTable('shop_types', {
  id: bigint('id', { mode: 'bigint' }).primaryKey().generatedAlwaysAsIdentity(),
  name: varchar('name', { length: 32 }).notNull().unique(),
  icon: text('icon').notNull().default(''),
  sort: integer('sort').notNull().default(0),
})

/**
 * Shops. Ids are reserved from the identity sequence before the insert (so the Bloom filter and
 * the GEO set can learn an id before its row exists), hence BY DEFAULT rather than ALWAYS.
 * `score` is stored in tenths (47 = 4.7); coordinates are limited to what Redis GEO can index.
 */
export const shops = pgTable(
  'shops',
  {
    id: bigint('id', { mode: 'bigint' }).primaryKey().generatedByDefaultAsIdentity(),
    name: varchar('name', { length: 128 }).notNull(),
    typeId: bigint('type_id', { mode: 'bigint' })
      .notNull()
      .references(() => shopTypes.id),
    images: text('images').array().notNull().default(sql`'{}'::text[]`),
    area: varchar('area', { length: 64 }).notNull().default(''),
    address: varchar('address', { length: 255 }).notNull(),
    lng: doublePrecision('lng').notNull(),
    lat: doublePrecision('lat').notNull(),
    avgPrice: integer('avg_price').notNull().default(0),
    sold: integer('sold').notNull().default(0),
    comments: integer('comments').notNull().default(0),
    score: smallint('score').notNull().default(0),
    openHours: varchar('open_hours', { length: 64 }).notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  },
  (t) => [
    index('shops_type_id_idx').on(t.typeId, t.id),
    check('shops_lng_range', sql`${t.lng} between -180 and 180`),
    check('shops_lat_range', sql`${t.lat} between -85.05112878 and 85.05112878`),
    check('shops_score_range', sql`${t.score} between 0 and 50`),
    check('shops_avg_price_range', sql`${t.avgPrice} >= 0`),
  ]
)

export type ShopTypeRow = typeof shopTypes.$inferSelect
export type ShopRow = typeof shops.$inferSelect
export * from './schema-seckill.ts'
export * from './schema-social.ts'
