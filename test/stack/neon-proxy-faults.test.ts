import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { createDatabase, type DatabaseHandle } from '../../src/adapters/postgres/db.ts'
import { createTestDatabase, type TestDatabase } from '../harness/db.ts'
import { REDIS_URL } from '../harness/services.ts'
import { startLocalStack } from './index.ts'
import { type NeonProxy, startNeonProxy } from './neon-proxy.ts'

const { postgres } = inject('services')

/** The production Neon driver (createDatabase: Pool over WebSockets) through the proxy stand-in. */
describe.skipIf(!postgres)('Neon proxy fault injection', () => {
  const clock = new ManualClock(1_000_000)
  let testDb: TestDatabase
  let proxy: NeonProxy
  let handle: DatabaseHandle
  /** Straight over TCP, past the proxy: sees what Postgres really holds. */
  let observer: pg.Client
  const open = () =>
    createDatabase({ driver: 'neon-serverless', url: testDb.url, localProxy: proxy.address })
  const rows = async () =>
    (await observer.query('select id from fault_probe order by id')).rows.map((r) => r.id)

  beforeAll(async () => {
    testDb = await createTestDatabase()
    proxy = await startNeonProxy({ clock })
    observer = new pg.Client({ connectionString: testDb.url })
    await observer.connect()
    await observer.query('create table fault_probe (id int primary key)')
    handle = await open()
  })
  afterAll(async () => {
    await Promise.allSettled([observer?.end(), handle?.close()])
    await proxy?.close()
    await testDb?.drop()
  })
  beforeEach(async () => {
    proxy.faults.clear()
    proxy.faults.resetStats()
    await observer.query('truncate fault_probe')
  })

  it('refuse(): new connections fail while open ones keep working; resume() restores', async () => {
    await handle.ping() // a pooled connection, open before the outage
    proxy.faults.refuse()
    expect(proxy.faults.refusing).toBe(true)
    const fresh = await open()
    try {
      await expect(fresh.ping()).rejects.toThrow()
      expect(proxy.faults.stats()).toEqual({ refused: 1, cut: 0 })
      await handle.ping() // its tunnel is still up
      proxy.faults.resume()
      await fresh.ping() // the driver recovers on the next query
    } finally {
      await fresh.close()
    }
  })

  it('refuse({ forMs }) ends when the test clock passes it (no sleeping)', async () => {
    proxy.faults.refuse({ forMs: 10_000 })
    const fresh = await open()
    try {
      await expect(fresh.ping()).rejects.toThrow()
      await clock.advance(9_999)
      expect(proxy.faults.refusing).toBe(true)
      await expect(fresh.ping()).rejects.toThrow()
      await clock.advance(1)
      expect(proxy.faults.refusing).toBe(false)
      await fresh.ping()
      expect(proxy.faults.stats().refused).toBe(2)
    } finally {
      await fresh.close()
    }
  })

  it('cutAll(): a query in flight fails; the pool reconnects for the next one', async () => {
    const slow = handle.db.execute(sql`select pg_sleep(30)`)
    const failed = expect(slow).rejects.toThrow()
    await vi.waitFor(async () => {
      const { rows } = await observer.query(
        "select 1 from pg_stat_activity where query like 'select pg_sleep(30)%' and state = 'active'"
      )
      expect(rows).toHaveLength(1)
    })
    expect(proxy.faults.cutAll()).toBeGreaterThanOrEqual(1)
    await failed
    await handle.ping()
    expect(proxy.faults.stats().cut).toBeGreaterThanOrEqual(1)
  })

  it('cutAfter(1) inside a transaction: the next statement runs, its reply is lost, all rolls back', async () => {
    const tx = handle.db.transaction(async (t) => {
      await t.execute(sql`insert into fault_probe values (1)`)
      expect(proxy.faults.cutAfter(1)).toBeGreaterThanOrEqual(1)
      await t.execute(sql`insert into fault_probe values (2)`)
    })
    await expect(tx).rejects.toThrow()
    expect(await rows()).toEqual([]) // the connection died before COMMIT: Postgres rolled back
    expect(proxy.faults.stats().cut).toBe(1)
    await handle.ping()
  })

  it('cutAfter(1) before COMMIT: the commit happens but its reply is lost (ambiguous outcome)', async () => {
    const tx = handle.db.transaction(async (t) => {
      await t.execute(sql`insert into fault_probe values (3)`)
      proxy.faults.cutAfter(1) // the next message is the COMMIT
    })
    await expect(tx).rejects.toThrow()
    await vi.waitFor(async () => expect(await rows()).toEqual([3]))
    await handle.db.execute(sql`select 1`) // recovered
  })

  it('clear() disarms cutAfter and resumes; bad counts are refused', async () => {
    await handle.ping()
    proxy.faults.refuse()
    proxy.faults.cutAfter(1)
    proxy.faults.clear()
    expect(proxy.faults.refusing).toBe(false)
    await handle.db.execute(sql`insert into fault_probe values (4)`)
    await handle.db.execute(sql`insert into fault_probe values (5)`)
    expect(await rows()).toEqual([4, 5])
    expect(proxy.faults.stats()).toEqual({ refused: 0, cut: 0 })
    expect(() => proxy.faults.cutAfter(0)).toThrow(RangeError)
  })

  it("startLocalStack({ neon: { clock } }) runs refuse({ forMs }) on that clock (the harness passes the app's)", async () => {
    const stack = await startLocalStack({
      redisUrl: REDIS_URL,
      databaseUrl: testDb.url,
      neon: { clock },
    })
    try {
      stack.neon.faults.refuse({ forMs: 1_000 })
      await clock.advance(999)
      expect(stack.neon.faults.refusing).toBe(true)
      await clock.advance(1)
      expect(stack.neon.faults.refusing).toBe(false)
    } finally {
      await stack.close()
    }
  })
})
