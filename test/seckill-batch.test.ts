/**
 * Group commit on the queue side (`OrderBatcher`, `publishAccepted`): the acceptances of one turn
 * of the event loop leave in ONE queue request, as persist messages of up to `persistBatch` orders
 * and one payment timeout each. Pure domain logic over a recording queue; the consumers' side
 * (group messages through the real queue, Redis and Postgres) is in test/seckill.test.ts.
 */
import { describe, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MacrotaskPacer } from '../src/adapters/system/pacer.ts'
import { loadConfig } from '../src/app/config.ts'
import type { BatchItem, PublishReceipt, Queue } from '../src/domain/ports/queue.ts'
import { OrderBatcher } from '../src/domain/seckill/batcher.ts'
import {
  handlePersist,
  type PersistMessage,
  publishAccepted,
  type SeckillPolicy,
} from '../src/domain/seckill/seckill.ts'

const PAY = 15 * 60_000

function recordingQueue(fail = () => false) {
  const requests: BatchItem[][] = []
  const queue: Queue = {
    publish: () => Promise.reject(new Error('not used: everything goes out in batches')),
    publishBatch: async (items) => {
      requests.push([...items])
      if (fail()) throw new Error('queue unreachable')
      return items.map((_, i): PublishReceipt => ({ messageId: `m${i}`, deduplicated: false }))
    },
  }
  return { queue, requests }
}

function setup(persistBatch = 100, fail?: () => boolean) {
  const clock = new ManualClock(1_000_000)
  const { queue, requests } = recordingQueue(fail)
  const policy: SeckillPolicy = {
    retentionMs: 86_400_000,
    payTimeoutMs: PAY,
    relayAfterMs: 10_000,
    persistRetries: 3,
    persistBatch,
    saleLimit: null,
  }
  const deps = { queue, clock, policy, pacer: new MacrotaskPacer() }
  return { deps, clock, requests, batcher: new OrderBatcher(deps) }
}

let next = 1000
const accepted = (acceptedAt: number): PersistMessage => ({
  orderId: String(next++),
  voucherId: '7',
  userId: String(next++),
  seq: 1,
  acceptedAt,
})

describe('OrderBatcher', () => {
  it("sends one turn's acceptances in ONE request: groups of persistBatch, one timeout each", async () => {
    const { clock, requests, batcher } = setup(100)
    const now = clock.now()
    // 250 acceptances in one turn, accepted over 4 ms of the clock.
    const messages = Array.from({ length: 250 }, (_, i) => accepted(now - 4 + (i % 5)))
    const done = messages.map((m) => batcher.add(m))
    expect(requests).toHaveLength(0) // nothing leaves within the turn
    await Promise.all(done)
    expect(requests).toHaveLength(1)
    const [items] = requests
    expect(items!.map((it) => it.topic)).toEqual([
      'orders.persist',
      'orders.timeout',
      'orders.persist',
      'orders.timeout',
      'orders.persist',
      'orders.timeout',
    ])
    const groups = [messages.slice(0, 100), messages.slice(100, 200), messages.slice(200)]
    for (const [g, group] of groups.entries()) {
      const [persist, timeout] = [items![2 * g]!, items![2 * g + 1]!]
      expect(persist.body).toEqual({ orders: group })
      expect(persist.opts).toEqual({
        dedupId: `persist-${group[0]!.orderId}+${group.length}`,
        retries: 3,
      })
      expect(timeout.body).toEqual({ orderIds: group.map((m) => m.orderId) })
      // Due at the group's LATEST acceptance + the pay timeout: no order's deadline comes early.
      expect(timeout.opts).toEqual({
        delayMs: PAY,
        dedupId: `timeout-${group[0]!.orderId}+${group.length}`,
        retries: 3,
      })
    }
  })

  it('a lone acceptance goes out as the single-order message the relay republishes', async () => {
    const { clock, requests, batcher } = setup(100)
    const m = accepted(clock.now())
    await batcher.add(m)
    expect(requests).toEqual([
      [
        { topic: 'orders.persist', body: m, opts: { dedupId: `persist-${m.orderId}`, retries: 3 } },
        {
          topic: 'orders.timeout',
          body: { orderId: m.orderId },
          opts: { delayMs: PAY, dedupId: `timeout-${m.orderId}`, retries: 3 },
        },
      ],
    ])
    // The relay's republish of the same order: the same message and dedup ids.
    const { deps, requests: relayed } = setup(100)
    await publishAccepted(deps, [m], 1)
    expect(relayed).toEqual(requests)
  })

  it('acceptances of a later turn form the next group, also while a publish is in flight', async () => {
    const { clock, requests, batcher } = setup(100)
    const first = [accepted(clock.now()), accepted(clock.now())]
    const a = first.map((m) => batcher.add(m))
    await new MacrotaskPacer().pause() // the first group has left; its publish may be in flight
    const second = [accepted(clock.now()), accepted(clock.now()), accepted(clock.now())]
    const b = second.map((m) => batcher.add(m))
    await Promise.all([...a, ...b])
    expect(requests.map((items) => items[0]!.body)).toEqual([{ orders: first }, { orders: second }])
  })

  it('persistBatch 1: one message per order, still one request per turn', async () => {
    const { clock, requests, batcher } = setup(1)
    const messages = [accepted(clock.now()), accepted(clock.now()), accepted(clock.now())]
    await Promise.all(messages.map((m) => batcher.add(m)))
    expect(requests).toHaveLength(1)
    expect(requests[0]!.filter((it) => it.topic === 'orders.persist').map((it) => it.body)).toEqual(
      messages
    )
  })

  it('a failed publish is reported once (the first order of the group); the next turn publishes again', async () => {
    let down = true
    const { clock, requests, batcher } = setup(100, () => down)
    const results = await Promise.allSettled(
      Array.from({ length: 5 }, () => batcher.add(accepted(clock.now())))
    )
    expect(results.map((r) => r.status)).toEqual([
      'rejected',
      'fulfilled',
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ])
    down = false
    await batcher.add(accepted(clock.now()))
    expect(requests).toHaveLength(2)
  })
})

describe('SECKILL_PERSIST_BATCH', () => {
  it('defaults to 100 with a database, 20 embedded (PGlite on the request thread), else as set', () => {
    const of = (env: Record<string, string>) => loadConfig(env).seckill.persistBatch
    expect(of({ DATABASE_URL: 'postgres://x@db/app' })).toBe(100)
    expect(of({})).toBe(20)
    expect(of({ SECKILL_PERSIST_BATCH: '1' })).toBe(1)
    expect(of({ DATABASE_URL: 'postgres://x@db/app', SECKILL_PERSIST_BATCH: '250' })).toBe(250)
    expect(() => of({ SECKILL_PERSIST_BATCH: '0' })).toThrow()
    expect(() => of({ SECKILL_PERSIST_BATCH: '1001' })).toThrow()
  })
})

describe('handlePersist of a group', () => {
  it("finishes every order before it rethrows one order's failure (no step left running)", async () => {
    const { deps: base, clock } = setup(100)
    const group = [accepted(clock.now()), accepted(clock.now()), accepted(clock.now())]
    const settled: string[] = []
    const deps = {
      ...base,
      background: () => {},
      orders: {
        persistMany: async (
          orders: { id: string; userId: string; voucherId: string; seq: number }[]
        ) =>
          orders.map((o) => ({
            result: 'created' as const,
            order: {
              ...o,
              status: 'unpaid',
              createdAt: 0,
              paidAt: null,
              cancelledAt: null,
              failReason: null,
            },
          })),
      },
      ledger: {
        // The first order's transition fails at once (Redis down); the others take a while.
        transition: async (_voucherId: string, orderId: string) => {
          if (orderId === group[0]!.orderId) throw new Error('redis down')
          await new MacrotaskPacer().pause()
          settled.push(orderId)
          return { outcome: 'moved' }
        },
      },
    } as never
    await expect(
      handlePersist(deps, {
        topic: 'orders.persist',
        body: { orders: group },
        messageId: 'm',
        attempt: 0,
      })
    ).rejects.toThrow('redis down')
    expect(settled.sort()).toEqual([group[1]!.orderId, group[2]!.orderId].sort())
  })
})
