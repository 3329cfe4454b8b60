import { afterAll, beforeAll, describe } from 'vitest'
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
