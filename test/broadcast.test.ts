import { afterAll, beforeAll, describe, inject } from 'vitest'
import { MemoryBroker, memoryBroadcast } from '../src/adapters/memory/broadcast.ts'
import type { BroadcastHub } from '../src/adapters/pubsub/hub.ts'
import { upstashBroadcast } from '../src/adapters/upstash/broadcast.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { broadcastContract } from './contracts/broadcast.contract.ts'
import { uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

broadcastContract('memory', async () => {
  const broker = new MemoryBroker()
  return { a: memoryBroadcast(broker), b: memoryBroadcast(broker), drop: async () => broker.drop() }
})

describe.skipIf(!inject('services').redis)('real Redis pub/sub through the Upstash gateway', () => {
  let gateway: UpstashGateway
  const hubs: BroadcastHub[] = []
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'broadcast-token' })
  })
  afterAll(() => gateway.close())

  broadcastContract('upstash', async () => {
    const prefix = uniquePrefix('bc')
    const config = { url: gateway.url, token: gateway.token }
    const make = () => upstashBroadcast(createUpstashRedis(config), config, prefix)
    const [a, b] = [make(), make()]
    hubs.push(a, b)
    return {
      a,
      b,
      drop: async () => {
        await gateway.suspend()
        await gateway.resume()
      },
      brokerSubscriptions: () =>
        Object.entries(gateway.stats().byPath)
          .filter(([path]) => path.startsWith(`/psubscribe/${prefix}`))
          .reduce((n, [, count]) => n + count, 0),
    }
  })
})
