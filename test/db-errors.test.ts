import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createDatabase, type DatabaseHandle } from '../src/adapters/postgres/db.ts'
import { migrateDatabase } from '../src/adapters/postgres/migrate.ts'
import { databaseProblem, isDatabaseUnavailable } from '../src/app/http/db-errors.ts'
import { errorFields } from '../src/app/log.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import { type NeonProxy, startNeonProxy } from './stack/neon-proxy.ts'

const postgres = inject('services').postgres
const SECRET = 'secret-value-7f3a'

type Opened = { handle: DatabaseHandle; dispose(): Promise<void> }

const drivers: [string, () => Promise<Opened>][] = [
  [
    'pglite',
    async () => {
      const handle = await createDatabase({ driver: 'pglite' })
      await migrateDatabase(handle)
      return { handle, dispose: () => handle.close() }
    },
  ],
]
if (postgres) {
  drivers.push([
    'postgres (neon driver)',
    async () => {
      const db: TestDatabase = await createTestDatabase()
      const proxy: NeonProxy = await startNeonProxy()
      const handle = await createDatabase({
        driver: 'neon-serverless',
        url: db.url,
        localProxy: proxy.address,
      })
      return {
        handle,
        dispose: async () => {
          await handle.close()
          await proxy.close()
          await db.drop()
        },
      }
    },
  ])
}

/**
 * One mapping from database errors to problems, proven on every driver with the errors the real
 * engines raise (drizzle wraps them; the mapping digs through `cause`).
 */
describe.each(drivers)('database errors → problems (%s)', (_name, open) => {
  let db: Opened
  beforeAll(async () => {
    db = await open()
  })
  afterAll(() => db?.dispose())

  const failure = async (query: ReturnType<typeof sql>): Promise<unknown> => {
    try {
      await db.handle.db.execute(query)
    } catch (e) {
      return e
    }
    throw new Error('expected the query to fail')
  }

  it('unique → 409 CONFLICT naming the column', async () => {
    await db.handle.db.execute(sql`insert into users (phone, nickname) values ('+861', 'a')`)
    const e = await failure(sql`insert into users (phone, nickname) values ('+861', 'b')`)
    expect(databaseProblem(e)).toMatchObject({ status: 409, code: 'CONFLICT', field: 'phone' })
  })

  it('foreign key → 400 naming the referencing field', async () => {
    const e = await failure(
      sql`insert into vouchers (shop_id, title, pay_value, actual_value, kind) values (${'987654321'}, 't', 1, 1, 'normal')`
    )
    expect(databaseProblem(e)).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
      field: 'shopId',
    })
  })

  it('out of range, invalid text, NUL and bad dates → 400; other errors are not the client’s', async () => {
    const cases = [
      sql`select ${String(2 ** 31)}::int4`,
      sql`select ${'9999999999999999999'}::int8`,
      sql`select ${`a${SECRET}`}::bigint`,
      sql`select ${'0000-01-01'}::timestamptz`,
      sql`select ${`x${SECRET}\u0000`}::text`,
    ]
    for (const query of cases) {
      const e = await failure(query)
      expect(databaseProblem(e), String(e)).toMatchObject({ status: 400 })
      // The log summary never carries the values (drizzle's message lists every parameter).
      expect(JSON.stringify(errorFields(e))).not.toContain(SECRET)
    }
    expect(databaseProblem(await failure(sql`select * from no_such_table`))).toBeNull()
  })
})

describe('database unreachable → 503, never 500 (isDatabaseUnavailable)', () => {
  class ErrorEvent {
    readonly type = 'error'
  }
  const wrap = (cause: unknown) => Object.assign(new Error('Failed query: select 1'), { cause })
  it('recognises socket errors, connection SQLSTATEs and WebSocket error events in the cause chain', () => {
    expect(
      isDatabaseUnavailable(wrap(Object.assign(new Error('x'), { code: 'ECONNREFUSED' })))
    ).toBe(true)
    expect(isDatabaseUnavailable(wrap({ code: '57P01', severity: 'FATAL' }))).toBe(true)
    expect(isDatabaseUnavailable(wrap({ code: '08006', severity: 'FATAL' }))).toBe(true)
    expect(isDatabaseUnavailable(wrap(new ErrorEvent()))).toBe(true)
    expect(isDatabaseUnavailable(wrap(new Error('Connection terminated unexpectedly')))).toBe(true)
  })
  it('leaves client-caused and unknown errors alone', () => {
    expect(isDatabaseUnavailable(wrap({ code: '23505', severity: 'ERROR' }))).toBe(false)
    expect(isDatabaseUnavailable(new Error('boom'))).toBe(false)
    expect(isDatabaseUnavailable(wrap({ type: 'message' }))).toBe(false)
  })
})
