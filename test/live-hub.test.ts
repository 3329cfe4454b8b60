/**
 * The Workers live hub's pieces outside workerd (the end-to-end proof on the real stack is
 * test/workerd/live-hub.workerd.test.ts): channel → hub object mapping, LIVE_HUB_SHARDS, the
 * binding check, and the hub object's protocol with the Worker side over an in-process hub
 * (a namespace stand-in whose stubs call the object's handler directly).
 */
import { describe, expect, it } from 'vitest'
import {
  DurableObjectBroadcast,
  type DurableObjectNamespaceLike,
  isDurableObjectNamespace,
  liveHubShard,
  serveLiveHub,
} from '../src/adapters/durable-objects/live-hub.ts'
import { MemoryBroker, memoryBroadcast } from '../src/adapters/memory/broadcast.ts'
import { BroadcastHub, type Firehose } from '../src/adapters/pubsub/hub.ts'
import { loadConfig } from '../src/app/config.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'

/** One hub object per name, each serving `serveLiveHub` over its own hub on `broker`. */
function namespace(makeHub: () => BroadcastHub) {
  const objects = new Map<string, BroadcastHub>()
  const ns: DurableObjectNamespaceLike = {
    idFromName: (name) => name,
    get: (id) => ({
      fetch: (url) => {
        const name = id as unknown as string
        if (!objects.has(name)) objects.set(name, makeHub())
        return serveLiveHub(new Request(url), () => objects.get(name)!)
      },
    }),
  }
  return { ns, objects }
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
})
