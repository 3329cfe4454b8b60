/**
 * Live order streams on the Worker in workerd, fanned out by the LIVE_HUB Durable Object
 * (src/app/live-hub.ts): many SSE clients share at most LIVE_HUB_SHARDS streaming psubscribes at
 * the Upstash gateway stand-in (counted there through the control server), a payment reaches every
 * viewer, the owner-only rule holds, a dropped upstream subscription ends the streams (the client
 * resumes and gets the current state), and without the binding each stream costs a subscription.
 * Sale streams go through the same objects: 100 viewers of one sale share the ONE stock poller of
 * the object owning the sale (reads counted at the gateway over a window of the poller's reads),
 * and a purchase's stock change and sold-out reach every viewer.
 */
import { createExecutionContext, env, SELF } from 'cloudflare:test'
import { describe, expect, inject, it, vi } from 'vitest'
import {
  DurableObjectBroadcast,
  type DurableObjectNamespaceLike,
  liveHubShard,
} from '../../src/adapters/durable-objects/live-hub.ts'
import { upstashBroadcast } from '../../src/adapters/upstash/broadcast.ts'
import { createUpstashRedis } from '../../src/adapters/upstash/client.ts'
import { appJobs, appTopics } from '../../src/app/modules.ts'
import { createWorker } from '../../src/app/worker.ts'
import { broadcastContract } from '../contracts/broadcast.contract.ts'
import { appFetch, createSale, loginMany, mapLimit } from '../harness/flows.ts'
import { openSse, type SseClient } from '../harness/sse.ts'
import { control, type GatewayStats, type GatewaySubscriptions } from './control-client.ts'

const plan = inject('workerd')
const ORIGIN = 'https://edge-seckill.test'
const send = (url: string, init: RequestInit) => SELF.fetch(url, init)
const api = appFetch(send, ORIGIN)
const SHARDS = Number(plan.bindings.LIVE_HUB_SHARDS)

const subscriptions = () => control<GatewaySubscriptions>('/gateway/subscriptions')
const gatewayStats = () => control<GatewayStats>('/gateway/stats')
const statuses = (s: SseClient) =>
  s.events.map((e) => `${e.id}:${(JSON.parse(e.data) as { status: string }).status}`)

interface HubStub {
  fetch(url: string): Promise<Response>
}
interface HubNamespace {
  idFromName(name: string): unknown
  get(id: unknown): HubStub
}
/** Every hub object's counters, read from the objects themselves (GET /stats). */
async function hubStats() {
  const hubs = (env as unknown as { LIVE_HUB: HubNamespace }).LIVE_HUB
  const all = await Promise.all(
    Array.from({ length: SHARDS }, async (_, i) => {
      const res = await hubs.get(hubs.idFromName(`live-hub-${i}`)).fetch('https://hub/stats')
      return (await res.json()) as { listeners: number; connections: number }
    })
  )
  return {
    listeners: all.reduce((n, s) => n + s.listeners, 0),
    connections: all.reduce((n, s) => n + s.connections, 0),
  }
}

interface HubObjectStats {
  listeners: number
  connections: number
  stockListeners: number
  sales: number
  reads: number
}
/**
 * The counters of the hub object that owns sale `voucherId`'s channel; with `reads`, once that
 * object's stock poller has made that many reads (a window measured on the poller itself).
 */
async function saleHubStats(voucherId: string, reads?: number): Promise<HubObjectStats> {
  const hubs = (env as unknown as { LIVE_HUB: HubNamespace }).LIVE_HUB
  const hub = hubs.get(hubs.idFromName(liveHubShard(`sale:${voucherId}`, SHARDS)))
  const res = await hub.fetch(`https://hub/stats${reads === undefined ? '' : `?reads=${reads}`}`)
  return (await res.json()) as HubObjectStats
}

/** `n` buyers with an unpaid (persisted) order each, on a fresh sale. */
async function unpaidOrders(series: number, n: number) {
  const sale = await createSale(api, plan.adminToken, Date.now(), { stock: n })
  const users = await loginMany(api, series, n)
  const before = (await control<{ count: number }>('/qstash/delivered?topic=orders.persist')).count
  const orders = await mapLimit(users, 20, async (u) => {
    const res = await api(`/vouchers/${sale.id}/seckill`, { method: 'POST', token: u.token })
    expect(res.status).toBe(202)
    return { token: u.token, orderId: ((await res.json()) as { orderId: string }).orderId }
  })
  await control(`/qstash/wait?topic=orders.persist&count=${before + n}`)
  return orders
}

const watch = (orderId: string, token: string, headers: Record<string, string> = {}) =>
  openSse(
    `${ORIGIN}/orders/${orderId}/events`,
    { authorization: `Bearer ${token}`, ...headers },
    send
  )

const pay = async (o: { orderId: string; token: string }) => {
  const res = await api(`/orders/${o.orderId}/pay`, { method: 'POST', token: o.token })
  expect(res.status).toBe(200)
}

describe.skipIf(!inject('workerdReady'))(
  'live order streams through the LIVE_HUB Durable Object',
  () => {
    it('150 streams on 50 orders share at most LIVE_HUB_SHARDS broker subscriptions; a payment reaches every one', async () => {
      const orders = await unpaidOrders(11, 50)
      // The 50 order channels land on every shard (the test would prove less otherwise).
      expect(new Set(orders.map((o) => liveHubShard(`order:${o.orderId}`, SHARDS))).size).toBe(
        SHARDS
      )
      const before = await subscriptions()
      const viewers = orders.flatMap((o) => [o, o, o])
      const streams = await mapLimit(viewers, 25, async (o) => {
        const s = await watch(o.orderId, o.token)
        expect(s.response.status).toBe(200)
        await s.until(1)
        return s
      })
      expect(streams.map((s) => statuses(s))).toEqual(viewers.map(() => ['2:unpaid']))

      const during = await subscriptions()
      expect(during.opened - before.opened).toBeGreaterThanOrEqual(1)
      expect(during.opened - before.opened).toBeLessThanOrEqual(SHARDS)
      expect(during.open).toBeLessThanOrEqual(SHARDS)
      const hub = await hubStats()
      expect(hub.listeners).toBe(150)
      console.log(
        `live hub: 150 streams on 50 orders → ${during.opened - before.opened} broker subscriptions opened (${during.open} open, ${SHARDS} shards), ${hub.listeners} listeners in the hub objects`
      )

      // A state change reaches every subscribed client; each stream then ends (final state).
      await mapLimit(orders, 10, pay)
      await Promise.all(streams.map((s) => s.ended))
      expect(streams.map((s) => statuses(s))).toEqual(viewers.map(() => ['2:unpaid', '3:paid']))
      expect((await subscriptions()).opened).toBe(during.opened) // no client opened its own

      // The streams are gone: every hub object released its listeners and closed its subscription.
      await control('/gateway/subscriptions/wait?open=0')
      expect((await hubStats()).listeners).toBe(0)
    })

    it('keeps order streams owner-only (401 without a session, 404 for another buyer)', async () => {
      const [mine, theirs] = await unpaidOrders(12, 2)
      const stranger = await watch(mine!.orderId, theirs!.token)
      expect(stranger.response.status).toBe(404)
      expect(await stranger.response.json()).toMatchObject({ code: 'NOT_FOUND' })
      const anonymous = await openSse(`${ORIGIN}/orders/${mine!.orderId}/events`, {}, send)
      expect(anonymous.response.status).toBe(401)
      const owner = await watch(mine!.orderId, mine!.token)
      expect(owner.response.status).toBe(200)
      await owner.until(1)
      expect(statuses(owner)).toEqual(['2:unpaid'])
      owner.close()
      await owner.ended
    })

    it('when the hub loses its broker subscription the streams end, and a reconnect gets the current state', async () => {
      const [order, other] = await unpaidOrders(13, 2)
      const streams = [
        await watch(order!.orderId, order!.token),
        await watch(other!.orderId, other!.token),
      ]
      await Promise.all(streams.map((s) => s.until(1)))
      const before = await subscriptions()
      await control('/gateway/subscriptions/drop')
      await Promise.all(streams.map((s) => s.ended)) // reset, not a silent stall
      expect(streams.map((s) => statuses(s))).toEqual([['2:unpaid'], ['2:unpaid']])

      // Paid while nobody listened: the reconnecting client (Last-Event-ID: 2) gets it at once.
      await pay(order!)
      const resumed = await watch(order!.orderId, order!.token, { 'last-event-id': '2' })
      expect(resumed.response.status).toBe(200)
      await resumed.ended
      expect(statuses(resumed)).toEqual(['3:paid'])
      expect((await subscriptions()).opened).toBeGreaterThan(before.opened) // the hub re-subscribed

      // And the hub delivers live again after the drop.
      const again = await watch(other!.orderId, other!.token, { 'last-event-id': '2' })
      await pay(other!)
      await again.ended
      expect(statuses(again)).toEqual(['3:paid'])
    })

    it('without the LIVE_HUB binding every stream opens its own broker subscription (the fallback)', async () => {
      const [order] = await unpaidOrders(14, 1)
      const bare = createWorker({ topics: appTopics, jobs: appJobs })
      const bareEnv = { ...env, LIVE_HUB: undefined }
      const direct = (url: string, init: RequestInit) =>
        bare.fetch(new Request(url, init), bareEnv, createExecutionContext())
      await control('/gateway/subscriptions/wait?open=0')
      const before = await subscriptions()
      const streams = await mapLimit([1, 2, 3], 3, async () => {
        const s = await openSse(
          `${ORIGIN}/orders/${order!.orderId}/events`,
          { authorization: `Bearer ${order!.token}` },
          direct
        )
        await s.until(1)
        return s
      })
      const during = await subscriptions()
      expect(during.opened - before.opened).toBe(3)
      expect(during.open).toBe(3)
      await pay(order!)
      await Promise.all(streams.map((s) => s.ended))
      expect(streams.map((s) => statuses(s))).toEqual([1, 2, 3].map(() => ['2:unpaid', '3:paid']))
      await control('/gateway/subscriptions/wait?open=0')
    })
  }
)

const stocks = (s: SseClient) =>
  s.events.map((e) => JSON.parse(e.data) as { voucherId: string; stock: number; soldOut: boolean })

describe.skipIf(!inject('workerdReady'))(
  'live sale streams through the LIVE_HUB Durable Object',
  () => {
    it('100 viewers of one sale share one stock poller (reads per interval independent of viewers); a purchase and sold-out reach every one', async () => {
      const VIEWERS = 100
      const sale = await createSale(api, plan.adminToken, Date.now(), { stock: 2 })
      const [first, second] = await loginMany(api, 15, 2)
      const viewers = await mapLimit(Array.from({ length: VIEWERS }), 25, async () => {
        const s = await openSse(`${ORIGIN}/vouchers/${sale.id}/events`, {}, send)
        expect(s.response.status).toBe(200)
        await s.until(1)
        return s
      })
      for (const v of viewers) {
        expect(stocks(v)).toEqual([expect.objectContaining({ voucherId: sale.id, stock: 2 })])
      }
      // Every viewer is attached to the one object owning the sale, which polls it once.
      const attached = await saleHubStats(sale.id)
      expect(attached.stockListeners).toBe(VIEWERS)
      expect(attached.sales).toBe(1)

      // A window of WINDOW reads of that poller (at least (WINDOW − 1) × 500 ms on its own timer):
      // the gateway sees those reads and nothing per viewer. Polling per viewer would be
      // VIEWERS reads per interval. The bound allows one read in flight at each end.
      const WINDOW = 6
      const start = await saleHubStats(sale.id)
      const before = await gatewayStats()
      const end = await saleHubStats(sale.id, start.reads + WINDOW)
      const after = await gatewayStats()
      const reads = end.reads - start.reads
      const commands = after.commands - before.commands
      expect(reads).toBeGreaterThanOrEqual(WINDOW)
      expect(commands).toBeLessThanOrEqual(reads + 2)
      console.log(
        `live hub: ${VIEWERS} viewers of one sale → 1 poller; ${reads} poller reads → ${commands} Redis commands at the gateway (${end.stockListeners} viewers attached)`
      )

      // A purchase's stock change reaches every viewer, then sold-out does.
      const buy = async (token: string) => {
        const res = await api(`/vouchers/${sale.id}/seckill`, { method: 'POST', token })
        expect(res.status).toBe(202)
      }
      await buy(first!.token)
      await Promise.all(viewers.map((v) => v.until(2)))
      await buy(second!.token)
      await Promise.all(viewers.map((v) => v.until(3)))
      for (const v of viewers) {
        expect(stocks(v).map((e) => [e.stock, e.soldOut])).toEqual([
          [2, false],
          [1, false],
          [0, true],
        ])
      }

      // The viewers leave: the object detaches them and stops polling the sale.
      for (const v of viewers) v.close()
      await Promise.all(viewers.map((v) => v.ended))
      await vi.waitFor(
        async () => {
          const left = await saleHubStats(sale.id)
          expect([left.stockListeners, left.sales]).toEqual([0, 0])
        },
        { timeout: 10_000 }
      )
    })

    it('without the LIVE_HUB binding each sale stream polls in its own request (the fallback), and still sees a purchase', async () => {
      const sale = await createSale(api, plan.adminToken, Date.now(), { stock: 5 })
      const [buyer] = await loginMany(api, 16, 1)
      const bare = createWorker({ topics: appTopics, jobs: appJobs })
      const bareEnv = { ...env, LIVE_HUB: undefined }
      // Called in-process, so the client's abort must cancel the response body itself (that is
      // what ends the stream and its poller, as a disconnect does).
      const direct = async (url: string, init: RequestInit) => {
        const res = await bare.fetch(new Request(url, init), bareEnv, createExecutionContext())
        if (!res.body || !init.signal) return res
        const body = res.body.pipeThrough(new TransformStream(), { signal: init.signal })
        return new Response(body, res)
      }
      const viewers = await mapLimit([1, 2], 2, async () => {
        const s = await openSse(`${ORIGIN}/vouchers/${sale.id}/events`, {}, direct)
        expect(s.response.status).toBe(200)
        await s.until(1)
        return s
      })
      // No hub object is involved.
      expect(await saleHubStats(sale.id)).toMatchObject({ stockListeners: 0, sales: 0 })
      const res = await api(`/vouchers/${sale.id}/seckill`, { method: 'POST', token: buyer!.token })
      expect(res.status).toBe(202)
      await Promise.all(viewers.map((v) => v.until(2)))
      expect(viewers.map((v) => stocks(v).map((e) => e.stock))).toEqual([
        [5, 4],
        [5, 4],
      ])
      // In-process, the Worker notices the cancel at its next write (the 15 s heartbeat), which
      // then ends each stream and its poller; nothing here depends on it.
      for (const v of viewers) v.close()
    })
  }
)

// The Broadcast contract on the Worker's side of the hub: two DurableObjectBroadcasts (two Worker
// isolates) on the LIVE_HUB objects, the broker connections counted in the objects and the
// gateway, a broker restart = the gateway dropping its subscribe streams.
describe.skipIf(!inject('workerdReady'))('DurableObjectBroadcast', () => {
  broadcastContract('durable-object', async () => {
    const redis = { url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! }
    const hubs = (env as unknown as { LIVE_HUB: DurableObjectNamespaceLike }).LIVE_HUB
    const make = () =>
      new DurableObjectBroadcast(
        hubs,
        SHARDS,
        upstashBroadcast(createUpstashRedis(redis), redis, env.REDIS_KEY_PREFIX ?? '')
      )
    return {
      a: make(),
      b: make(),
      drop: async () => void (await control('/gateway/subscriptions/drop')),
      brokerSubscriptions: async () => (await subscriptions()).opened,
      connections: async () => (await hubStats()).connections,
      settled: async () => void (await control('/gateway/subscriptions/wait?open=0')),
      bound: SHARDS,
    }
  })
})
