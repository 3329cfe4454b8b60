import { afterAll, beforeAll, describe, inject } from 'vitest'
import { MemoryBroker, memoryBroadcast } from '../src/adapters/memory/broadcast.ts'
import type { BroadcastHub } from '../src/adapters/pubsub/hub.ts'
import { upstashBroadcast } from '../src/adapters/upstash/broadcast.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import {
  openTcpRedis,
  parseRedisUrl,
  subscriberName,
  type TcpRedis,
} from '../src/adapters/upstash/tcp.ts'
import { broadcastContract } from './contracts/broadcast.contract.ts'
import { directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport, tcpRedisUrl } from './harness/transports.ts'
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

forEachTcpTransport('broadcast', (t) => {
  const opened: TcpRedis[] = []
  afterAll(() => Promise.all(opened.map((c) => c.close())))
  broadcastContract(t.name, async () => {
    const prefix = `${t.prefix}${crypto.randomUUID().slice(0, 6)}:`
    const url = tcpRedisUrl(t.name)
    const make = async () => {
      const tcp = await openTcpRedis({ url })
      opened.push(tcp)
      return tcp.broadcast(prefix)
    }
    return {
      a: await make(),
      b: await make(),
      // A broker restart, as far as this suite's subscribers can tell: kill exactly them.
      drop: async () => {
        const nodes = t.name === 'cluster' ? parseRedisUrl(url).nodes : [url]
        for (const node of nodes) {
          const direct = await directRedis(node)
          try {
            const list = String(await direct.sendCommand(['CLIENT', 'LIST']))
            const name = subscriberName(`${prefix}ev:`)
            for (const line of list.split('\n')) {
              const id = /(?:^| )id=(\d+)/.exec(line)?.[1]
              if (id && line.includes(` name=${name} `)) {
                await direct.sendCommand(['CLIENT', 'KILL', 'ID', id])
              }
            }
          } finally {
            await direct.close()
          }
        }
      },
    }
  })
})
