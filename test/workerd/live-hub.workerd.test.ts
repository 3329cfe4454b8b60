/**
 * Live order streams on the Worker in workerd, fanned out by the LIVE_HUB Durable Object
 * (src/app/live-hub.ts): many SSE clients share at most LIVE_HUB_SHARDS streaming psubscribes at
 * the Upstash gateway stand-in (counted there through the control server), a payment reaches every
 * viewer, the owner-only rule holds, a dropped upstream subscription ends the streams (the client
 * resumes and gets the current state), and without the binding each stream costs a subscription.
 */
import { createExecutionContext, env, SELF } from 'cloudflare:test'
import { describe, expect, inject, it } from 'vitest'
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
import { control, type GatewaySubscriptions } from './control-client.ts'

const plan = inject('workerd')
const ORIGIN = 'https://edge-seckill.test'
const send = (url: string, init: RequestInit) => SELF.fetch(url, init)
const api = appFetch(send, ORIGIN)
const SHARDS = Number(plan.bindings.LIVE_HUB_SHARDS)

const subscriptions = () => control<GatewaySubscriptions>('/gateway/subscriptions')
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
