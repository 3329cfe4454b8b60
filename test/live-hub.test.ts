/**
 * The Workers live hub's pieces outside workerd (the end-to-end proof on the real stack is
 * test/workerd/live-hub.workerd.test.ts): channel → hub object mapping, LIVE_HUB_SHARDS, the
 * binding check, and the hub object's protocol with the Worker side over an in-process hub
 * (a namespace stand-in whose stubs call the object's handler directly).
 */
import { describe, expect, it, vi } from 'vitest'
import {
  DurableObjectBroadcast,
  type DurableObjectNamespaceLike,
  DurableObjectStockFeed,
  isDurableObjectNamespace,
  type LiveHubStats,
  liveHubShard,
  serveLiveHub,
} from '../src/adapters/durable-objects/live-hub.ts'
import { MemoryBroker, memoryBroadcast } from '../src/adapters/memory/broadcast.ts'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { BroadcastHub, type Firehose } from '../src/adapters/pubsub/hub.ts'
import { loadConfig } from '../src/app/config.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import type { StockLedger } from '../src/domain/ports/stock.ts'
import { StockWatch } from '../src/domain/seckill/live.ts'
import { memorySale } from './harness/memory-sale.ts'

/**
 * One hub object per name, each serving `serveLiveHub` over its own hub on `broker` and, with
 * `makeStock`, its own stock poller.
 */
function namespace(makeHub: () => BroadcastHub, makeStock?: () => StockWatch) {
  const objects = new Map<string, BroadcastHub>()
  const stocks = new Map<string, StockWatch>()
  const ns: DurableObjectNamespaceLike = {
    idFromName: (name) => name,
    get: (id) => ({
      fetch: (url) => {
        const name = id as unknown as string
        if (!objects.has(name)) objects.set(name, makeHub())
        if (makeStock && !stocks.has(name)) stocks.set(name, makeStock())
        return serveLiveHub(
          new Request(url),
          () => objects.get(name)!,
          makeStock && (() => stocks.get(name)!)
        )
      },
    }),
  }
  return { ns, objects, stocks }
}

/** A promise and the function that resolves it once `ok()` holds (checked on every call). */
function when(ok: () => boolean) {
  let check!: () => void
  const done = new Promise<void>((resolve) => {
    check = () => ok() && resolve()
  })
  return { done, check }
}

describe('live hub', () => {
  it('maps a channel to the same hub object every time, spreading channels over all of them', () => {
    const channels = Array.from({ length: 400 }, (_, i) => `order:${1_000_000 + i}`)
    const shards = channels.map((c) => liveHubShard(c, 8))
    expect(channels.map((c) => liveHubShard(c, 8))).toEqual(shards)
    const counts = new Map<string, number>()
    for (const s of shards) counts.set(s, (counts.get(s) ?? 0) + 1)
    expect([...counts.keys()].sort()).toEqual(
      Array.from({ length: 8 }, (_, i) => `live-hub-${i}`).sort()
    )
    for (const n of counts.values()) expect(n).toBeGreaterThan(20) // 50 each on average
    expect(liveHubShard('order:1', 1)).toBe('live-hub-0')
  })

  it('LIVE_HUB_SHARDS: 4 by default, 1 to 64', () => {
    expect(loadConfig({}).liveHubShards).toBe(4)
    expect(loadConfig({ LIVE_HUB_SHARDS: '16' }).liveHubShards).toBe(16)
    expect(() => loadConfig({ LIVE_HUB_SHARDS: '0' })).toThrow(/LIVE_HUB_SHARDS/)
    expect(() => loadConfig({ LIVE_HUB_SHARDS: '65' })).toThrow(/LIVE_HUB_SHARDS/)
  })

  it('recognizes a Durable Object namespace binding (and nothing else)', () => {
    expect(isDurableObjectNamespace(namespace(() => memoryBroadcast()).ns)).toBe(true)
    for (const v of [undefined, null, 'LIVE_HUB', {}, { get() {} }]) {
      expect(isDurableObjectNamespace(v)).toBe(false)
    }
  })

  it('fans a channel out from the hub object over one broker connection per object', async () => {
    const broker = new MemoryBroker()
    const { ns, objects } = namespace(() => memoryBroadcast(broker))
    const worker = new DurableObjectBroadcast(ns, 1, memoryBroadcast(broker))
    const got: string[][] = [[], [], []]
    let arrived!: () => void
    const all = new Promise<void>((resolve) => {
      arrived = resolve
    })
    const subs = await Promise.all(
      got.map((into) =>
        worker.subscribe('order:1', {
          message: (m) => {
            into.push(m)
            if (got.every((g) => g.length > 0)) arrived()
          },
          reset: () => {},
        })
      )
    )
    expect(worker.listeners).toBe(3)
    const hub = objects.get('live-hub-0')!
    expect([hub.listeners, hub.connections]).toEqual([3, 1])
    const message = '{"status":"paid"}\nnext line, same message'
    await worker.publish('order:2', 'not mine')
    await worker.publish('order:1', message)
    await all
    expect(got).toEqual(got.map(() => [message]))
    for (const s of subs) s.close()
    expect(worker.listeners).toBe(0)
  })

  it('resets the listener when the hub object loses its broker connection', async () => {
    const broker = new MemoryBroker()
    const { ns } = namespace(() => memoryBroadcast(broker))
    const worker = new DurableObjectBroadcast(ns, 4, memoryBroadcast(broker))
    let resets = 0
    let reset!: () => void
    const both = new Promise<void>((resolve) => {
      reset = () => ++resets === 2 && resolve()
    })
    await worker.subscribe('order:7', { message: () => {}, reset })
    await worker.subscribe('order:8', { message: () => {}, reset })
    broker.drop()
    await both
    expect(resets).toBe(2)
    expect(worker.listeners).toBe(0)
  })

  it('answers 503 when the broker is unreachable, which the Worker side reports as such', async () => {
    const down: Firehose = {
      connect: async () => {
        throw new Error('connection refused')
      },
      publish: async () => {},
    }
    const res = await serveLiveHub(
      new Request('https://hub/subscribe?channel=order:1'),
      () => new BroadcastHub(down)
    )
    expect(res.status).toBe(503)
    const { ns } = namespace(() => new BroadcastHub(down))
    const worker = new DurableObjectBroadcast(ns, 4, new BroadcastHub(down))
    await expect(
      worker.subscribe('order:1', { message: () => {}, reset: () => {} })
    ).rejects.toBeInstanceOf(DependencyUnavailable)
    const bad = await serveLiveHub(new Request('https://hub/elsewhere'), () => memoryBroadcast())
    expect(bad.status).toBe(404)
  })

  it('streams a sale from ONE poller in the hub object that owns it, for every viewer', async () => {
    const { clock, ledger } = await memorySale('7', 3)
    const { ns, stocks } = namespace(
      () => memoryBroadcast(),
      () => new StockWatch(ledger, clock, 500)
    )
    const feed = new DurableObjectStockFeed(ns, 4)
    const got: number[][] = [[], [], []]
    let seen = when(() => got.every((g) => g.length === 1))
    const stops = await Promise.all(
      got.map((into) =>
        feed.watch('7', {
          stock: (n) => {
            into.push(n)
            seen.check()
          },
          lost: () => {},
        })
      )
    )
    const object = stocks.get(liveHubShard('sale:7', 4))!
    expect([stocks.size, object.listeners, object.sales]).toEqual([1, 3, 1])
    await clock.advance(500)
    await seen.done
    seen = when(() => got.every((g) => g.length === 2))
    await ledger.reserve({ voucherId: '7', userId: '1', orderId: '100' })
    await clock.advance(500)
    await seen.done
    expect(got).toEqual(got.map(() => [3, 2]))
    expect(object.reads).toBe(2) // one read per interval for the three viewers
    const stats = (await (
      await ns.get(ns.idFromName(liveHubShard('sale:7', 4)) as never).fetch('https://hub/stats')
    ).json()) as LiveHubStats
    expect(stats).toMatchObject({ stockListeners: 3, sales: 1, reads: 2 })

    for (const stop of stops) stop()
    await vi.waitFor(() => expect(object.listeners).toBe(0)) // the cancel reaches the object
    expect(object.sales).toBe(0)
    await clock.advance(5_000)
    expect(object.reads).toBe(2)
  })

  it('ends every viewer of the object when a stock read fails (lost), and 404s without a watch', async () => {
    const clock = new ManualClock()
    const failing = { remaining: () => Promise.reject(new Error('down')) } as unknown as StockLedger
    const { ns } = namespace(
      () => memoryBroadcast(),
      () => new StockWatch(failing, clock, 500)
    )
    const feed = new DurableObjectStockFeed(ns, 4)
    let lost = 0
    const both = when(() => lost === 2)
    for (let i = 0; i < 2; i++) {
      await feed.watch('7', {
        stock: () => {},
        lost: () => {
          lost++
          both.check()
        },
      })
    }
    await clock.advance(500)
    await both.done
    expect(lost).toBe(2)
    const none = await serveLiveHub(new Request('https://hub/stock?sale=7'), () =>
      memoryBroadcast()
    )
    expect(none.status).toBe(404)
  })
})
