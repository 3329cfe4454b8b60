import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryQueue } from '../src/adapters/memory/queue.ts'
import { type NodeServer, startNodeServer } from '../src/app/node.ts'
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

  queueContract('qstash', async (handlers) => {
    Object.assign(registry, handlers)
    const { queue } = (await app.container.scope()).deps
    return {
      queue,
      advance: (ms) => qstash.advance(ms),
      idle: () => qstash.idle(),
      dispose: async () => {},
    }
  })
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
