/**
 * The Worker entry (src/app/worker.ts) inside workerd (@cloudflare/vitest-plugin) against the local
 * stand-ins started by globalSetup: Upstash gateway → Redis, QStash stand-in delivering back to the
 * Worker over HTTP (a direct socket into workerd), Neon proxy → Postgres. Requests go through
 * SELF (the Worker's default export); assertions on Postgres and QStash go through the control
 * server (control.ts).
 */
import {
  createExecutionContext,
  createScheduledController,
  env,
  SELF,
  waitOnExecutionContext,
} from 'cloudflare:test'
import { Redis } from '@upstash/redis'
import { describe, expect, inject, it } from 'vitest'
import worker from '../../src/app/worker.ts'
import { shopKeys } from '../../src/domain/shops/service.ts'
import { appFetch, createSale, login, loginMany, rush } from '../harness/flows.ts'
import { control, delivered, sql } from './control-client.ts'

const plan = inject('workerd')
const api = appFetch((url, init) => SELF.fetch(url, init), 'https://edge-seckill.test')
const admin = plan.adminToken

describe.skipIf(!inject('workerdReady'))('Worker in workerd on the stand-ins', () => {
  it('serves /health with Upstash, QStash and Neon', async () => {
    const res = await api('/health')
    expect(res.status).toBe(200)
    expect((await res.json()).checks).toMatchObject({
      redis: { status: 'up', adapter: 'upstash' },
      queue: { status: 'up', adapter: 'qstash' },
      database: { status: 'up', adapter: 'neon-serverless' },
    })
  })

  it('logs in with a phone code and knows the session', async () => {
    const user = await login(api, '+8613712345678')
    const me = await api('/users/me', { token: user.token })
    expect(me.status).toBe(200)
    expect((await me.json()).id).toBe(user.id)
  })

  it('serves shops from the Redis cache (a change behind its back stays unseen)', async () => {
    const rebuilt = await api('/admin/shop-indexes/rebuild', { method: 'POST', token: admin })
    expect(rebuilt.status).toBe(200)
    const first = await api('/shops/2')
    expect(first.status).toBe(200)
    const shop = await first.json()
    const redis = new Redis({
      url: env.UPSTASH_REDIS_REST_URL!,
      token: env.UPSTASH_REDIS_REST_TOKEN!,
    })
    expect(await redis.exists(`${plan.prefix}${shopKeys.shop('2')}`)).toBe(1)
    await sql('update shops set name = $1 where id = 2', ['renamed behind the cache'])
    expect(await (await api('/shops/2')).json()).toEqual(shop)
    expect((await api('/shops/999999')).status).toBe(404)
  })

  describe('a flash sale of 100 to 200 concurrent buyers', () => {
    let saleId: string
    let accepted: string[]
    let payer: { token: string; orderId: string }

    it('sells exactly 100 and persists them through QStash deliveries to the Worker', async () => {
      const before = await delivered('orders.persist')
      saleId = (await createSale(api, admin, Date.now(), { stock: 100 })).id
      const users = await loginMany(api, 7, 200)
      const result = await rush(
        api,
        saleId,
        users.map((u) => u.token)
      )
      expect(result.other).toEqual([])
      expect(result.accepted).toHaveLength(100)
      expect(result.refused).toEqual(Array(100).fill('SOLD_OUT'))
      accepted = result.accepted
      await control(`/qstash/wait?topic=orders.persist&count=${before + 100}`)
      const orders = await sql<{ id: string; user_id: string; status: string }>(
        'select id::text, user_id::text, status from voucher_orders where voucher_id = $1',
        [saleId]
      )
      expect(new Set(orders.map((o) => o.id))).toEqual(new Set(accepted))
      expect(new Set(orders.map((o) => o.user_id)).size).toBe(100)
      expect(orders.every((o) => o.status === 'unpaid')).toBe(true)
      const [sale] = await sql<{ stock: number }>(
        'select stock from seckill_vouchers where voucher_id = $1',
        [saleId]
      )
      expect(sale!.stock).toBe(0)
      const order = orders[0]!
      payer = { token: users.find((u) => u.id === order.user_id)!.token, orderId: order.id }
    })

    it('cancels the unpaid orders on payment timeout (QStash delay) and keeps the paid one', async () => {
      const paid = await api(`/orders/${payer.orderId}/pay`, { method: 'POST', token: payer.token })
      expect((await paid.json()).status).toBe('paid')
      const before = await delivered('orders.timeout')
      await control('/qstash/advance?ms=960000') // 16 minutes: past ORDER_PAY_TIMEOUT (15m)
      // At least this sale's 100 (the stand-ins are shared: another file's orders may fall due in
      // the same advance); the statuses below are this sale's own.
      expect(await delivered('orders.timeout')).toBeGreaterThanOrEqual(before + 100)
      const statuses = await sql<{ status: string; n: number }>(
        'select status, count(*)::int as n from voucher_orders where voucher_id = $1 group by status',
        [saleId]
      )
      expect(Object.fromEntries(statuses.map((s) => [s.status, s.n]))).toEqual({
        paid: 1,
        cancelled: 99,
      })
      const [sale] = await sql<{ stock: number }>(
        'select stock from seckill_vouchers where voucher_id = $1',
        [saleId]
      )
      expect(sale!.stock).toBe(99)
    })

    it('the cron trigger (scheduled) repairs drift made behind the app’s back', async () => {
      const reconcile = async () => {
        const res = await api('/admin/seckill/reconcile', {
          method: 'POST',
          token: admin,
          json: { voucherId: saleId, dryRun: true },
        })
        expect(res.status).toBe(200)
        return (await res.json()) as { drift: boolean }
      }
      expect((await reconcile()).drift).toBe(false)
      // Cancel the paid order in Postgres only (stock not returned, Redis still says committed).
      await sql(
        `update voucher_orders set status = 'cancelled', cancelled_at = now() where id = $1`,
        [payer.orderId]
      )
      expect((await reconcile()).drift).toBe(true)
      const ctx = createExecutionContext()
      await worker.scheduled(
        createScheduledController({ cron: '* * * * *', scheduledTime: Date.now() }),
        env,
        ctx
      )
      await waitOnExecutionContext(ctx)
      expect((await reconcile()).drift).toBe(false)
      const [sale] = await sql<{ stock: number }>(
        'select stock from seckill_vouchers where voucher_id = $1',
        [saleId]
      )
      expect(sale!.stock).toBe(100)
    })
  })
})
