import { bigint, pgTable, text, timestamp, varchar } from 'drizzle-orm/pg-core'

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
