import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import type { BroadcastHub } from '../src/adapters/pubsub/hub.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { openSse, type SseClient } from './harness/sse.ts'
import { makeUsers } from './harness/users.ts'

const ADMIN = 'live-load-admin-token'
const STREAMS = 1000
const ORDERS = 100
/** Streams opened at a time (bounded client concurrency). */
const OPENING = 50

// Memory adapters keep the run short; the broker side (one subscription per process over the real
// Upstash gateway) is proven by test/broadcast.test.ts and test/live.test.ts.
const kind = appKinds(inject('services')).at(-1)!

describe(`1,000 concurrent order streams on one process [${kind}]`, () => {
  let app: TestApp

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: {
        ADMIN_TOKEN: ADMIN,
        SEED_DEMO_DATA: 'true',
        SECKILL_USER_LIMIT: 'off',
        SECKILL_GLOBAL_LIMIT: 'off',
      },
    })
  })
  afterAll(() => app?.close())

  /** Runs `work` over `items`, OPENING at a time. */
  async function bounded<T, R>(items: T[], work: (item: T) => Promise<R>): Promise<R[]> {
    const out: R[] = []
    for (let i = 0; i < items.length; i += OPENING) {
      out.push(...(await Promise.all(items.slice(i, i + OPENING).map(work))))
    }
    return out
  }

  it('share one broker subscription, all get the change, and memory stays bounded', async () => {
    const started = performance.now()
    const now = app.clock.now()
    const sale = await app.fetch('/vouchers/seckill', {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}` },
      json: {
        shopId: '1',
        title: 'load',
        payValue: 1,
        actualValue: 2,
        stock: ORDERS,
        beginAt: new Date(now - 60_000).toISOString(),
        endAt: new Date(now + 3_600_000).toISOString(),
      },
    })
    const voucherId = ((await sale.json()) as { id: string }).id
    const users = await makeUsers(app, ORDERS)
    const orders = await bounded(users, async (u) => {
      const res = await app.fetch(`/vouchers/${voucherId}/seckill`, {
        method: 'POST',
        token: u.token,
      })
      return { id: ((await res.json()) as { orderId: string }).orderId, token: u.token }
    })
    await app.settle() // every order unpaid
    const t1 = performance.now()
    const hub = (await app.deps()).live.broadcast as BroadcastHub
    const subscribesBefore = app.stack?.gateway.stats().byPath
    const before = process.memoryUsage()

    const streams: SseClient[] = await bounded(
      Array.from({ length: STREAMS }, (_, i) => orders[i % ORDERS]!),
      async (o) => {
        const s = await openSse(`${app.url}/orders/${o.id}/events`, {
          authorization: `Bearer ${o.token}`,
        })
        await s.until(1)
        return s
      }
    )
    const opened = process.memoryUsage()
    const t2 = performance.now()
    expect(streams.every((s) => s.events.length === 1 && s.events[0]!.id === '2')).toBe(true)
    expect(hub.listeners).toBe(STREAMS)
    expect(hub.connections).toBe(1)
    if (app.stack) {
      const psubscribes = (paths: Record<string, number> | undefined) =>
        Object.entries(paths ?? {})
          .filter(([p]) => p.startsWith('/psubscribe/'))
          .reduce((n, [, c]) => n + c, 0)
      expect(psubscribes(app.stack.gateway.stats().byPath) - psubscribes(subscribesBefore)).toBe(1)
    }

    // Every order is paid: each of its ten streams gets `paid` and ends (final state).
    await bounded(orders, async (o) => {
      const res = await app.fetch(`/orders/${o.id}/pay`, { method: 'POST', token: o.token })
      expect(res.status).toBe(200)
    })
    await Promise.all(streams.map((s) => s.ended))
    const t3 = performance.now()
    expect(streams.every((s) => s.events.map((e) => e.id).join() === '2,3')).toBe(true)
    expect(streams.every((s) => s.events[1]!.data.includes('"paid"'))).toBe(true)
    await expect.poll(() => hub.listeners).toBe(0)
    await app.settle()

    const ms = (n: number) => Math.round(n)
    const mb = (n: number) => Math.round((n / 1048576) * 10) / 10
    const perStreamKb = Math.round((opened.rss - before.rss) / STREAMS / 102.4) / 10
    console.log(
      `[live-load ${kind}] ${STREAMS} streams over ${ORDERS} orders: RSS +${mb(opened.rss - before.rss)} MB ` +
        `(${perStreamKb} KB/stream, client side included), heap +${mb(opened.heapUsed - before.heapUsed)} MB; ` +
        `1 broker subscription; setup ${ms(t1 - started)}, open ${ms(t2 - t1)}, pay+deliver ${ms(t3 - t2)} ms`
    )
    // Bounded: well under 200 KB per stream for server and client together.
    expect(opened.rss - before.rss).toBeLessThan(STREAMS * 200 * 1024)
  }, 240_000)
})
