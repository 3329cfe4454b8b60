import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { STREAM_MAX_MS } from '../src/app/http/sse.ts'
import { appTopics } from '../src/app/modules.ts'
import type { TopicHandlers } from '../src/domain/ports/queue.ts'
import { STOCK_WATCH_EVERY_MS, type StockWatch } from '../src/domain/seckill/live.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { createSale as createSaleOver } from './harness/flows.ts'
import { openSse, type SseClient } from './harness/sse.ts'
import { makeUsers, type TestUser } from './harness/users.ts'

const ADMIN = 'live-test-admin-token'

/** Holds the persist consumer until `open()`: lets a test see an order while it is pending. */
function gate() {
  let release!: () => void
  let opened = new Promise<void>((r) => {
    release = r
  })
  return {
    close() {
      opened = new Promise<void>((r) => {
        release = r
      })
    },
    open: () => release(),
    topics: (deps: Parameters<typeof appTopics>[0]): TopicHandlers => {
      const real = appTopics(deps)
      const persist = real['orders.persist']!
      return {
        ...real,
        'orders.persist': {
          handle: async (d) => {
            await opened
            return persist.handle(d)
          },
          deadLetter: (l) => persist.deadLetter(l),
        },
      }
    },
  }
}

describe.each(appKinds(inject('services')))(
  'live order status and sale stock (SSE) [%s]',
  (kind) => {
    let app: TestApp
    let users: TestUser[]
    const g = gate()
    const streams: SseClient[] = []
    const admin = { authorization: `Bearer ${ADMIN}` }

    beforeAll(async () => {
      app = await startTestApp(kind, {
        env: {
          ADMIN_TOKEN: ADMIN,
          SEED_DEMO_DATA: 'true',
          SECKILL_USER_LIMIT: 'off',
          SECKILL_GLOBAL_LIMIT: 'off',
        },
        topics: g.topics,
      })
      users = await makeUsers(app, 80)
    })
    afterAll(async () => {
      for (const s of streams) s.close()
      g.open()
      await app?.close()
    })

    const createSale = async (stock = 10) =>
      (
        await createSaleOver(app.fetch, ADMIN, app.clock.now(), {
          stock,
          payValue: 100,
          actualValue: 1000,
        })
      ).id

    async function buy(voucherId: string, user: TestUser) {
      const res = await app.fetch(`/vouchers/${voucherId}/seckill`, {
        method: 'POST',
        token: user.token,
      })
      expect(res.status).toBe(202)
      return ((await res.json()) as { orderId: string }).orderId
    }

    async function watch(path: string, headers: Record<string, string> = {}) {
      const s = await openSse(`${app.url}${path}`, headers)
      streams.push(s)
      return s
    }
    const statuses = (s: SseClient) =>
      s.events.map((e) => `${e.id}:${(JSON.parse(e.data) as { status: string }).status}`)

    it('streams pending → unpaid → paid as they happen, then ends', async () => {
      g.close()
      const voucherId = await createSale()
      const [buyer] = [users[0]!]
      const orderId = await buy(voucherId, buyer)
      const s = await watch(`/orders/${orderId}/events`, { authorization: `Bearer ${buyer.token}` })
      expect(s.response.status).toBe(200)
      expect(s.response.headers.get('content-type')).toMatch(/^text\/event-stream/)
      await s.until(1)
      expect(statuses(s)).toEqual(['1:pending'])

      g.open()
      await app.settle()
      await s.until(2)
      expect(statuses(s)).toEqual(['1:pending', '2:unpaid'])
      const polled = await (await app.fetch(`/orders/${orderId}`, { token: buyer.token })).json()
      expect(JSON.parse(s.events[1]!.data)).toEqual(polled)

      const paid = await app.fetch(`/orders/${orderId}/pay`, { method: 'POST', token: buyer.token })
      expect(paid.status).toBe(200)
      await s.ended
      expect(statuses(s)).toEqual(['1:pending', '2:unpaid', '3:paid'])
      expect(s.events.every((e) => e.event === 'status')).toBe(true)
      expect(JSON.parse(s.events[2]!.data)).toMatchObject({
        id: orderId,
        voucherId,
        status: 'paid',
      })
    })

    it('resumes after Last-Event-ID with only newer states; a final order ends at once', async () => {
      g.open()
      const voucherId = await createSale()
      const buyer = users[1]!
      const orderId = await buy(voucherId, buyer)
      await app.settle()
      const auth = { authorization: `Bearer ${buyer.token}` }

      const behind = await watch(`/orders/${orderId}/events`, { ...auth, 'last-event-id': '1' })
      const upToDate = await watch(`/orders/${orderId}/events`, { ...auth, 'last-event-id': '2' })
      await behind.until(1)
      expect(statuses(behind)).toEqual(['2:unpaid'])

      const cancelled = await app.fetch(`/orders/${orderId}/cancel`, {
        method: 'POST',
        token: buyer.token,
      })
      expect(cancelled.status).toBe(200)
      await Promise.all([behind.ended, upToDate.ended])
      expect(statuses(behind)).toEqual(['2:unpaid', '3:cancelled'])
      expect(statuses(upToDate)).toEqual(['3:cancelled'])

      const again = await watch(`/orders/${orderId}/events`, auth)
      await again.ended
      expect(statuses(again)).toEqual(['3:cancelled'])
      const caughtUp = await watch(`/orders/${orderId}/events`, { ...auth, 'last-event-id': '3' })
      await caughtUp.ended
      expect(caughtUp.events).toEqual([])
    })

    it('is for the owner only: 401 without a session, 404 for others and unknown ids, 400 for bad input', async () => {
      g.open()
      const voucherId = await createSale()
      const orderId = await buy(voucherId, users[2]!)
      const other = users[3]!
      const res = await Promise.all([
        app.fetch(`/orders/${orderId}/events`),
        app.fetch(`/orders/${orderId}/events`, { token: other.token }),
        app.fetch('/orders/123456789/events', { token: other.token }),
        app.fetch('/orders/abc/events', { token: other.token }),
        app.fetch(`/orders/${orderId}/events`, {
          token: users[2]!.token,
          headers: { 'last-event-id': 'x' },
        }),
        app.fetch('/vouchers/123456789/events'),
      ])
      expect(res.map((r) => r.status)).toEqual([401, 404, 404, 400, 400, 404])
      for (const r of res) {
        expect(r.headers.get('content-type')).toMatch(/problem\+json/)
        expect((await r.json()).code).toMatch(/^[A-Z_]+$/)
      }
      await app.settle()
    })

    it('sends heartbeat comments on the clock while nothing changes, and ends at its lifetime cap', async () => {
      g.open()
      const voucherId = await createSale()
      const buyer = users[4]!
      const orderId = await buy(voucherId, buyer)
      await app.settle()
      const s = await watch(`/orders/${orderId}/events`, { authorization: `Bearer ${buyer.token}` })
      await s.until(1)
      const before = s.comments
      await vi.waitFor(async () => {
        await app.clock.advance(15_000)
        expect(s.comments).toBeGreaterThan(before)
      })
      expect(statuses(s)).toEqual(['2:unpaid'])
      // The lifetime cap: the stream ends; a browser reconnects after `retry`.
      await app.clock.advance(STREAM_MAX_MS)
      await s.ended
      expect(statuses(s)).toEqual(['2:unpaid'])
    })

    it('streams remaining stock from one shared poller, down to sold out', async () => {
      g.open()
      const voucherId = await createSale(30)
      const viewers = await Promise.all(
        Array.from({ length: 5 }, () => watch(`/vouchers/${voucherId}/events`))
      )
      const s = viewers[0]!
      await Promise.all(viewers.map((v) => v.until(1)))
      const stocks = (v: SseClient) =>
        v.events.map((e) => JSON.parse(e.data) as { stock: number; soldOut: boolean })
      expect(stocks(s)[0]).toMatchObject({ voucherId, stock: 30, initialStock: 30, soldOut: false })

      const deps = await app.deps()
      const poller = deps.live.stock as StockWatch // on Node: the process's poller
      const readsBefore = poller.reads
      await buy(voucherId, users[10]!)
      await app.clock.advance(STOCK_WATCH_EVERY_MS)
      await s.until(2)
      expect(stocks(s)[1]).toMatchObject({ stock: 29, soldOut: false })

      const burst = users.slice(11, 71)
      const results = await Promise.all(
        burst.map((u) =>
          app.fetch(`/vouchers/${voucherId}/seckill`, { method: 'POST', token: u.token })
        )
      )
      expect(results.filter((r) => r.status === 202)).toHaveLength(29)
      await app.settle()
      await app.clock.advance(STOCK_WATCH_EVERY_MS)
      await Promise.all(viewers.map((v) => v.until(3)))
      for (const v of viewers) {
        expect(stocks(v).map((e) => e.stock)).toEqual([30, 29, 0])
        expect(stocks(v).at(-1)).toMatchObject({ stock: 0, soldOut: true })
      }
      // One read per interval for all five viewers, whatever the number of buyers.
      expect(poller.reads - readsBefore).toBe(2)
      for (const v of viewers) v.close()
    })

    // The memory broker's drop is covered by the Broadcast contract; here the real gateway drops.
    if (kind === 'real') {
      it('ends the stream when the broker connection drops; the client resumes with Last-Event-ID', async () => {
        g.open()
        const voucherId = await createSale()
        const buyer = users[5]!
        const orderId = await buy(voucherId, buyer)
        await app.settle()
        const auth = { authorization: `Bearer ${buyer.token}` }
        const s = await watch(`/orders/${orderId}/events`, auth)
        await s.until(1)
        await app.stack!.gateway.suspend()
        await s.ended // reset: messages may have been lost, so the stream ends
        await app.stack!.gateway.resume()
        expect(statuses(s)).toEqual(['2:unpaid'])
        const resumed = await watch(`/orders/${orderId}/events`, { ...auth, 'last-event-id': '2' })
        expect(resumed.response.status).toBe(200)
        const paid = await app.fetch(`/orders/${orderId}/pay`, {
          method: 'POST',
          token: buyer.token,
        })
        expect(paid.status).toBe(200)
        await resumed.ended
        expect(statuses(resumed)).toEqual(['3:paid'])

        // A failed stock read ends the sale streams too (the browser reconnects).
        const viewer = await watch(`/vouchers/${voucherId}/events`)
        await viewer.until(1)
        await app.stack!.gateway.suspend()
        try {
          await app.clock.advance(STOCK_WATCH_EVERY_MS)
          await viewer.ended
        } finally {
          await app.stack!.gateway.resume()
        }
        expect(viewer.events).toHaveLength(1)
      })
    }

    it('admin counters: accepted, persisted, pending, failed, drift', async () => {
      g.close()
      const voucherId = await createSale(5)
      const orderIds = await Promise.all(users.slice(20, 23).map((u) => buy(voucherId, u)))
      const read = async () => {
        const r = await app.fetch(`/admin/seckill/${voucherId}/counters`, { headers: admin })
        expect(r.status).toBe(200)
        return r.json()
      }
      expect(await read()).toMatchObject({ accepted: 3, pending: 3, persisted: 0, stock: 2 })
      g.open()
      await app.settle()
      await app.fetch(`/orders/${orderIds[0]}/cancel`, { method: 'POST', token: users[20]!.token })
      expect(await read()).toEqual({
        voucherId,
        stock: 3,
        initialStock: 5,
        accepted: 3,
        pending: 0,
        persisted: 3,
        unpaid: 2,
        paid: 0,
        cancelled: 1,
        failed: 0,
        deadLetters: 0,
        drift: { ledgerStock: 0, databaseStock: 0, buyersOff: 0 },
      })
      const denied = await app.fetch(`/admin/seckill/${voucherId}/counters`)
      expect(denied.status).toBe(401)
    })
  }
)
