import { afterAll, beforeAll, describe, inject } from 'vitest'
import { MemoryRateLimiter } from '../src/adapters/memory/rate-limiter.ts'
import { MemoryStockLedger } from '../src/adapters/memory/stock-ledger.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashRateLimiter } from '../src/adapters/upstash/rate-limiter.ts'
import { UpstashStockLedger } from '../src/adapters/upstash/stock-ledger.ts'
import { rateLimiterContract } from './contracts/rate-limiter.contract.ts'
import { stockLedgerContract } from './contracts/stock-ledger.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

const retentionMs = 7 * 86_400_000

stockLedgerContract('memory', async (clock) => new MemoryStockLedger(clock))
rateLimiterContract('memory', async (bucket) => new MemoryRateLimiter(new SystemClock(), bucket))

describe.skipIf(!inject('services').redis)('real Redis through the Upstash gateway', () => {
  const prefix = uniquePrefix('seckill')
  let gateway: UpstashGateway
  let direct: DirectRedis
  const redis = () => createUpstashRedis({ url: gateway.url, token: gateway.token })
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'seckill-token' })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
  })

  stockLedgerContract(
    'upstash',
    async (clock) => new UpstashStockLedger(redis(), clock, prefix, { retentionMs })
  )
  rateLimiterContract('upstash', async (bucket) => new UpstashRateLimiter(redis(), bucket, prefix))
})

forEachTcpTransport('seckill ports', (t) => {
  stockLedgerContract(
    t.name,
    async (clock) => new UpstashStockLedger(t.client(), clock, t.prefix, { retentionMs })
  )
  rateLimiterContract(
    t.name,
    async (bucket) => new UpstashRateLimiter(t.client(), bucket, t.prefix)
  )
})
