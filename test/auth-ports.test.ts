import { afterAll, beforeAll, describe, inject } from 'vitest'
import { MemoryLoginCodes } from '../src/adapters/memory/login-codes.ts'
import { MemorySessionStore } from '../src/adapters/memory/sessions.ts'
import { MemoryWindowLimiter } from '../src/adapters/memory/window-limiter.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashLoginCodes } from '../src/adapters/upstash/login-codes.ts'
import { UpstashSessionStore } from '../src/adapters/upstash/sessions.ts'
import { UpstashWindowLimiter } from '../src/adapters/upstash/window-limiter.ts'
import { loginCodesContract } from './contracts/login-codes.contract.ts'
import { sessionContract } from './contracts/session.contract.ts'
import { windowLimiterContract } from './contracts/window-limiter.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

sessionContract('memory', async (clock) => new MemorySessionStore(clock))
loginCodesContract('memory', async (clock) => new MemoryLoginCodes(clock))
windowLimiterContract('memory', async (clock) => new MemoryWindowLimiter(clock))

describe.skipIf(!inject('services').redis)('real Redis through the Upstash gateway', () => {
  const prefix = uniquePrefix('auth')
  let gateway: UpstashGateway
  let direct: DirectRedis
  const redis = () => createUpstashRedis({ url: gateway.url, token: gateway.token })
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'auth-token' })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
  })

  sessionContract('upstash', async (clock) => new UpstashSessionStore(redis(), clock, prefix))
  loginCodesContract('upstash', async (clock) => new UpstashLoginCodes(redis(), clock, prefix))
  windowLimiterContract(
    'upstash',
    async (clock) => new UpstashWindowLimiter(redis(), clock, prefix)
  )
})

forEachTcpTransport('auth ports', (t) => {
  sessionContract(t.name, async (clock) => new UpstashSessionStore(t.client(), clock, t.prefix))
  loginCodesContract(t.name, async (clock) => new UpstashLoginCodes(t.client(), clock, t.prefix))
  windowLimiterContract(
    t.name,
    async (clock) => new UpstashWindowLimiter(t.client(), clock, t.prefix)
  )
})
