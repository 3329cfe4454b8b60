import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryQueue } from '../src/adapters/memory/queue.ts'
import { QStashQueue } from '../src/adapters/qstash/queue.ts'
import { type NodeServer, startNodeServer } from '../src/app/node.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import type { TopicHandlers } from '../src/domain/ports/queue.ts'
import { queueContract } from './contracts/queue.contract.ts'
import { freePort } from './harness/net.ts'
import { type QStashServer, startQStashServer } from './stack/qstash-server.ts'

queueContract('memory', async (handlers) => {
  const clock = new ManualClock()
  const queue = new MemoryQueue(clock, () => handlers)
  return {
    queue,
    advance: (ms) => clock.advance(ms),
    idle: () => queue.idle(),
    dispose: () => queue.close(),
  }
})

// The real path: QStash stand-in → signed HTTP delivery → the app's consumer route → handlers.
describe('QStash stand-in delivering to the app over HTTP', () => {
  const registry: Record<string, TopicHandlers[string]> = {}
  let qstash: QStashServer
  let app: NodeServer
  beforeAll(async () => {
    qstash = await startQStashServer({ clock: 'manual' })
    const port = await freePort()
    app = await startNodeServer({
      port,
      env: {
        APP_ENV: 'test',
        LOG_LEVEL: 'warn',
        DATA_DIR: ':memory:',
        PUBLIC_URL: `http://127.0.0.1:${port}`,
        QSTASH_URL: qstash.url,
        QSTASH_TOKEN: qstash.token,
        QSTASH_CURRENT_SIGNING_KEY: qstash.currentSigningKey,
        QSTASH_NEXT_SIGNING_KEY: qstash.nextSigningKey,
      },
      topics: () => registry,
    })
  })
  afterAll(async () => {
    await app?.close()
    await qstash?.close()
  })

  queueContract(
    'qstash',
    async (handlers) => {
      Object.assign(registry, handlers)
      const { queue } = (await app.container.scope()).deps
      return {
        queue,
        advance: (ms) => qstash.advance(ms),
        idle: () => qstash.idle(),
        dispose: async () => {},
        refusePublishes: () => {
          const fault = qstash.faults.failPublishes({ status: 503 })
          return () => fault.remove()
        },
        publishRequests: () => qstash.stats().publishRequests,
      }
    },
    true
  )
})

describe('MemoryQueue: bounded in-process deliveries (embedded mode never stalls on a burst)', () => {
  it('runs at most `concurrency` handlers at once, delivers every message, and idle() waits for all', async () => {
    let running = 0
    let peak = 0
    const delivered: number[] = []
    const gates: (() => void)[] = []
    const handlers: TopicHandlers = {
      burst: {
        handle: async (d) => {
          running++
          peak = Math.max(peak, running)
          await new Promise<void>((resolve) => gates.push(resolve))
          delivered.push(d.body as number)
          running--
        },
        deadLetter: async () => {},
      },
    }
    const queue = new MemoryQueue(new ManualClock(), () => handlers, { concurrency: 3 })
    for (let i = 0; i < 20; i++) await queue.publish('burst', i)
    let idle = false
    const settled = queue.idle().then(() => {
      idle = true
    })
    // Open the gates one at a time as handlers arrive; never more than 3 are inside at once.
    while (delivered.length < 20) {
      await new Promise((r) => setTimeout(r, 0)) // let the next handler reach its gate
      expect(idle).toBe(false)
      gates.shift()?.()
    }
    await settled
    expect(peak).toBe(3)
    expect(delivered.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i))
    await queue.close()
  })

  it('a request-sized piece of work gets the event loop between deliveries of a burst', async () => {
    const order: string[] = []
    const handlers: TopicHandlers = {
      burst: {
        handle: async (d) => void order.push(`delivery ${d.body}`),
        deadLetter: async () => {},
      },
    }
    const queue = new MemoryQueue(new ManualClock(), () => handlers, { concurrency: 1 })
    for (let i = 0; i < 3; i++) await queue.publish('burst', i)
    setTimeout(() => order.push('request'), 0)
    await queue.idle()
    expect(order.indexOf('request')).toBeLessThan(order.indexOf('delivery 2'))
    expect(order.filter((o) => o.startsWith('delivery'))).toHaveLength(3)
    await queue.close()
  })
})

describe('QStashQueue.publishBatch against the SDK (a recording client)', () => {
  const urls = {
    consumerUrl: (t: string) => `https://app.example/queue/${t}`,
    deadLetterUrl: (t: string) => `https://app.example/queue/${t}/dead`,
  }
  function recordingClient(answer: (n: number) => unknown[]) {
    const sent: { single: unknown[]; batches: unknown[][] } = { single: [], batches: [] }
    const client = {
      publishJSON: async (req: unknown) => {
        sent.single.push(structuredClone(req))
        return { messageId: 'one' }
      },
      batchJSON: async (reqs: unknown[]) => {
        sent.batches.push(structuredClone(reqs))
        return answer(reqs.length)
      },
    }
    return { client: client as unknown as ConstructorParameters<typeof QStashQueue>[0], sent }
  }

  it('sends each item exactly as publish would (url, retries, failure callback, delay, dedup id)', async () => {
    const { client, sent } = recordingClient((n) =>
      Array.from({ length: n }, (_, i) => ({ messageId: `m${i}`, deduplicated: i === 1 }))
    )
    const queue = new QStashQueue(client, urls)
    const items = [
      { topic: 'orders.persist', body: { a: 1 }, opts: { dedupId: 'persist-1', retries: 5 } },
      { topic: 'orders.timeout', body: { b: 2 }, opts: { delayMs: 900_001, dedupId: 't-1' } },
      { topic: 'plain', body: undefined },
    ]
    const receipts = await queue.publishBatch(items)
    for (const it of items) await queue.publish(it.topic, it.body, it.opts)
    expect(sent.batches).toEqual([sent.single])
    expect(sent.single[1]).toMatchObject({ delay: 901, deduplicationId: 't-1', retries: 3 })
    expect(receipts).toEqual([
      { messageId: 'm0', deduplicated: false },
      { messageId: 'm1', deduplicated: true },
      { messageId: 'm2', deduplicated: false },
    ])
    expect(await queue.publishBatch([])).toEqual([])
    expect(sent.batches).toHaveLength(1)
  })

  it('rejects with DependencyUnavailable when QStash refuses one message of an accepted batch', async () => {
    const { client } = recordingClient(() => [{ messageId: 'm0' }, { error: 'quota exceeded' }])
    const queue = new QStashQueue(client, urls)
    const err = await queue
      .publishBatch([
        { topic: 'a', body: 1 },
        { topic: 'b', body: 2 },
      ])
      .catch((e) => e)
    expect(err).toBeInstanceOf(DependencyUnavailable)
    expect(String(err.cause)).toMatch(/quota exceeded/)
  })
})
