import { sql } from 'drizzle-orm'
import type { DatabaseHandle } from './db.ts'

/** A table is analyzed again once it has grown by this fraction (autovacuum's default is 10 %). */
const GROWTH = 0.1
/** …and by at least this many pages (8 KiB each): small tables are cheap to plan whatever. */
const MIN_PAGES = 8

/**
 * PGlite's stand-in for autovacuum's ANALYZE (PGlite runs no background workers): analyzes the
 * `public` tables that grew by more than 10 % (and 8 pages) since their last ANALYZE — their size
 * from `pg_relation_size` against `pg_class.relpages`, so no statistics collector is needed. One
 * table per call of `between` (the host pauses there), each with a small sample
 * (`default_statistics_target` 10). Without it the planner of a database that grew from empty
 * keeps its first guesses: reconciliation's keyset read of 100 orders took ~100 ms (bitmap scan and
 * sort of the whole sale) on a 100,000-order sale, 2.6 ms once analyzed.
 */
export async function analyzeGrownTables(
  handle: DatabaseHandle,
  between: () => Promise<void>
): Promise<string[]> {
  const rows = (await handle.db.execute(sql`
    select c.relname as name
    from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'public' and c.relkind = 'r'
      and pg_relation_size(c.oid) / current_setting('block_size')::int
          > greatest(c.relpages, 0) * ${1 + GROWTH}::float8 + ${MIN_PAGES}::int`)) as unknown as
    | { rows: { name: string }[] }
    | { name: string }[]
  const names = (Array.isArray(rows) ? rows : rows.rows).map((r) => r.name)
  for (const name of names) {
    await between()
    await handle.db.transaction(async (tx) => {
      await tx.execute(sql`set local default_statistics_target = 10`)
      await tx.execute(sql`analyze ${sql.identifier(name)}`)
    })
  }
  return names
}
