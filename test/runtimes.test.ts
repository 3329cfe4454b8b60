/**
 * Deno and Bun as first-class runtimes: each starts the app by its package.json script (Deno:
 * src/app/deno.ts on Deno.serve; Bun: the Node entry) against the local stand-ins, serves the
 * whole flow, persists a flash sale through QStash deliveries back to it, and shuts down cleanly
 * while clients still hold keep-alive connections.
 */
import { execFile } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { isMainModule } from '../src/adapters/system/main-module.ts'
import { shopKeys } from '../src/domain/shops/service.ts'
import { createTestDatabase, type TestDatabase } from './harness/db.ts'
import {
  type AppFetch,
  appFetch,
  createSale,
  LOGIN_ABUSE_OFF,
  login,
  loginMany,
  rush,
} from './harness/flows.ts'
import { freePort } from './harness/net.ts'
import { deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { type Runtime, type RuntimeServer, startRuntime } from './harness/runtime.ts'
import { persistIds } from './harness/seckill.ts'
import { REDIS_URL } from './harness/services.ts'
import { type LocalStack, startLocalStack } from './stack/index.ts'

const ADMIN = 'runtime-smoke-admin-token'
const services = inject('services')
const RUNTIMES: Runtime[] = ['deno', 'bun']

describe.skipIf(!services.redis || !services.postgres)('runtimes on the real stack', () => {
  describe.each(RUNTIMES)('%s', (runtime) => {
    let db: TestDatabase
    let stack: LocalStack
    let server: RuntimeServer
    let api: AppFetch
    let sql: pg.Client
    const prefix = uniquePrefix(runtime)

    beforeAll(async () => {
      const started = performance.now()
      db = await createTestDatabase()
      stack = await startLocalStack({ redisUrl: REDIS_URL, databaseUrl: db.url })
      const port = await freePort()
      server = await startRuntime(runtime, port, {
        ...stack.env,
        APP_ENV: 'test',
        ...LOGIN_ABUSE_OFF,
        LOG_LEVEL: 'info', // the harness waits for the 'listening' line
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        REDIS_KEY_PREFIX: prefix,
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SECKILL_USER_LIMIT: 'off',
        SECKILL_GLOBAL_LIMIT: 'off',
      })
      api = appFetch(fetch, server.url)
      sql = new pg.Client({ connectionString: db.url })
      await sql.connect()
      console.log(`${runtime}: started in ${Math.round(performance.now() - started)} ms`)
    })
    afterAll(async () => {
      server?.stop('SIGKILL')
      await sql?.end()
      await stack?.close()
      await db?.drop()
      const redis = await directRedis()
      await deleteByPrefix(redis, prefix)
      await redis.quit()
    })

    it('runs on the stand-ins (Upstash, QStash, Neon) and says which runtime it is', async () => {
      expect(server.listening).toMatchObject({
        runtime: expect.stringMatching(new RegExp(`^${runtime} \\d`)),
        redis: 'upstash',
        queue: 'qstash',
        database: 'neon-serverless',
      })
      const health = await api('/health')
      expect(health.status).toBe(200)
      expect((await health.json()).status).toBe('ok')
    })

    it('logs in with a phone code and reads the profile', async () => {
      const user = await login(api, '+8613912345678')
      const me = await api('/users/me', { token: user.token })
      expect(me.status).toBe(200)
      expect((await me.json()).id).toBe(user.id)
    })

    it('serves a shop from the cache it filled in Redis', async () => {
      const first = await api('/shops/1')
      expect(first.status).toBe(200)
      const shop = await first.json()
      expect(shop).toMatchObject({ id: '1', name: expect.any(String) })
      const redis = await directRedis()
      try {
        expect(await redis.exists(`${prefix}${shopKeys.shop('1')}`)).toBe(1)
      } finally {
        await redis.quit()
      }
      expect(await (await api('/shops/1')).json()).toEqual(shop)
    })

    it('sells 100 to 200 concurrent buyers and persists exactly 100 orders through QStash', async () => {
      const sale = await createSale(api, ADMIN, Date.now(), { stock: 100 })
      const users = await loginMany(api, RUNTIMES.indexOf(runtime) + 1, 200)
      const { accepted, refused, other } = await rush(
        api,
        sale.id,
        users.map((u) => u.token)
      )
      expect(other).toEqual([])
      expect(accepted).toHaveLength(100)
      expect(refused).toEqual(Array(100).fill('SOLD_OUT'))
      // The app publishes after each response (one message per order, or per group of orders
      // accepted together); wait for QStash to deliver every order's persist back to it.
      const persisted = () =>
        new Set(
          stack.qstash
            .deliveries()
            .filter((d) => d.url.endsWith('/orders.persist') && d.status !== null && d.status < 300)
            .flatMap((d) => persistIds(JSON.parse(new TextDecoder().decode(d.body))))
        ).size
      await stack.qstash.until(() => persisted() >= 100)
      await stack.qstash.idle()
      const orders = await sql.query(
        'select id::text, user_id::text, status from voucher_orders where voucher_id = $1',
        [sale.id]
      )
      expect(orders.rows).toHaveLength(100)
      expect(new Set(orders.rows.map((o) => o.id))).toEqual(new Set(accepted))
      expect(new Set(orders.rows.map((o) => o.user_id)).size).toBe(100)
      expect(orders.rows.every((o) => o.status === 'unpaid')).toBe(true)
      const stock = await sql.query('select stock from seckill_vouchers where voucher_id = $1', [
        sale.id,
      ])
      expect(stock.rows[0].stock).toBe(0)
    })

    it('exits 0 on SIGTERM while clients hold keep-alive connections', async () => {
      // fetch keeps the connections of the requests above open; shutdown must close them.
      expect((await api('/health')).status).toBe(200)
      expect(await server.stop('SIGTERM')).toBe(0)
      expect(server.problems).toEqual([])
    })
  })
})

describe('vitest on Bun', () => {
  it('runs a test file under `bun --bun vitest` (the config picks the threads pool there)', async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !k.startsWith('VITEST') && k !== 'NODE_ENV')
    )
    const dir = await mkdtemp(join(tmpdir(), 'vitest-bun-'))
    try {
      await promisify(execFile)(
        'node_modules/.bin/bun',
        ['--bun', 'node_modules/vitest/vitest.mjs', 'run', 'test/phone.test.ts'].concat([
          '--reporter=json',
          `--outputFile=${join(dir, 'report.json')}`,
        ]),
        { env, timeout: 120_000 }
      )
      const report = JSON.parse(await readFile(join(dir, 'report.json'), 'utf8'))
      expect(report.numFailedTests).toBe(0)
      expect(report.numPassedTests).toBeGreaterThan(10)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})

describe('main-module check (migrate.ts as a CLI)', () => {
  const run: Record<Runtime, string[]> = {
    node: ['node'],
    bun: ['bun'],
    deno: ['deno', 'run', '--allow-read', '--allow-env', '--allow-sys'],
  }
  it.each(Object.keys(run) as Runtime[])('runs its CLI when started by %s', async (runtime) => {
    const [bin, ...args] = run[runtime]
    // `--pglite` without a directory: the CLI prints its usage and exits 1 before touching a database.
    const failed = await promisify(execFile)(`node_modules/.bin/${bin}`, [
      ...args,
      'src/adapters/postgres/migrate.ts',
      '--pglite',
    ]).catch((e: { code: number; stderr: string }) => e)
    expect(failed).toMatchObject({ code: 1, stderr: expect.stringContaining('usage: node') })
  })

  it('is false for a module imported by another (vitest here)', () => {
    expect(isMainModule({ url: import.meta.url })).toBe(false)
    expect(isMainModule({ url: pathToFileURL(process.argv[1]!).href })).toBe(true)
    expect(isMainModule({ url: import.meta.url, main: true })).toBe(true)
  })
})
