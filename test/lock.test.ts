import { afterAll, beforeAll, describe, inject } from 'vitest'
import { MemoryLock } from '../src/adapters/memory/lock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashLock } from '../src/adapters/upstash/lock.ts'
import { lockContract } from './contracts/lock.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

lockContract('memory', async (clock) => ({ lock: new MemoryLock(clock), dispose: async () => {} }))

describe.skipIf(!inject('services').redis)('real Redis through the Upstash gateway', () => {
  const prefix = uniquePrefix('lock')
  let gateway: UpstashGateway
  let direct: DirectRedis
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'test-token' })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
  })

  lockContract('upstash', async (clock) => {
    const redis = createUpstashRedis({ url: gateway.url, token: gateway.token })
    return { lock: new UpstashLock(redis, clock, prefix), dispose: async () => {} }
  })
})
