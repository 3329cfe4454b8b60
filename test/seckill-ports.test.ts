import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryRateLimiter } from '../src/adapters/memory/rate-limiter.ts'
import { MemoryStockLedger } from '../src/adapters/memory/stock-ledger.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashRateLimiter } from '../src/adapters/upstash/rate-limiter.ts'
import { scripts } from '../src/adapters/upstash/scripts.gen.ts'
import { UpstashStockLedger } from '../src/adapters/upstash/stock-ledger.ts'
import { rateLimiterContract } from './contracts/rate-limiter.contract.ts'
import { stockLedgerContract } from './contracts/stock-ledger.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

const retentionMs = 7 * 86_400_000

stockLedgerContract('memory', async (clock) => new MemoryStockLedger(clock))
stockLedgerContract(
  'memory (saleIndex every-call)',
  async (clock) => new MemoryStockLedger(clock, { saleIndex: 'every-call' })
)
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

  const raw = () => createUpstashRedis({ url: gateway.url, token: gateway.token, rawReplies: true })
  // The app gives the ledger the raw-replies client; a deserializing one must work too.
  stockLedgerContract(
    'upstash',
    async (clock) => new UpstashStockLedger(raw(), clock, prefix, { retentionMs })
  )
  stockLedgerContract(
    'upstash (deserializing client)',
    async (clock) => new UpstashStockLedger(redis(), clock, prefix, { retentionMs })
  )
  rateLimiterContract('upstash', async (bucket) => new UpstashRateLimiter(redis(), bucket, prefix))

  it('idempotency records: none for refusals, a TTL on every record', async () => {
    const clock = new ManualClock()
    const ledger = new UpstashStockLedger(redis(), clock, prefix, { retentionMs })
    const voucherId = String(600_000 + Math.floor(Math.random() * 1e9))
    const now = clock.now()
    const sale = {
      voucherId,
      stock: 1,
      initialStock: 1,
      beginAt: now + 60_000,
      endAt: now + 120_000,
    }
    await ledger.load({ ...sale, perUserLimit: 1 }, [])
    const idem = `${prefix}sk:{${voucherId}}:idem`
    for (let i = 0; i < 20; i++) {
      const r = await ledger.reserve({
        voucherId,
        userId: String(i),
        orderId: String(1000 + i),
        idempotencyKey: `k${i}`,
      })
      expect(r).toEqual({ kind: 'refused', reason: 'SALE_NOT_STARTED' })
    }
    expect(await direct.exists(idem)).toBe(0)
    await clock.advance(60_000)
    await ledger.reserve({ voucherId, userId: '1', orderId: '2001', idempotencyKey: 'k1' })
    expect(await direct.hLen(idem)).toBe(1)
    expect(await direct.pTTL(idem)).toBeGreaterThan(0)
  })

  describe('a reply lost after the script ran (the client sends it again)', () => {
    afterEach(() => gateway.faults.clear())

    it('reserve: the retry gets the first outcome, the stock is taken once', async () => {
      const clock = new ManualClock()
      const ledger = new UpstashStockLedger(redis(), clock, prefix, { retentionMs })
      const voucherId = String(500_000 + Math.floor(Math.random() * 1e9))
      const now = clock.now()
      await ledger.load(
        {
          voucherId,
          stock: 5,
          initialStock: 5,
          beginAt: now - 1,
          endAt: now + 60_000,
          perUserLimit: 1,
        },
        []
      )
      const fault = gateway.faults.add({
        mode: 'drop-reply',
        command: 'EVALSHA',
        match: (c) => c[1] === scripts.seckillReserve.sha1,
        times: 1,
      })
      const r = await ledger.reserve({ voucherId, userId: '3', orderId: '123456789012345678' })
      expect(fault.hits).toBe(1)
      expect(r).toEqual({ kind: 'accepted', orderId: '123456789012345678', seq: 1 })
      expect(await ledger.audit(voucherId, false)).toMatchObject({
        stock: 4,
        pending: 1,
        buyersOff: 0,
      })
    })

    it('reserve with a one-token sale bucket: the retry is still accepted, the token taken once', async () => {
      const clock = new ManualClock()
      const ledger = new UpstashStockLedger(redis(), clock, prefix, { retentionMs })
      const voucherId = String(500_000 + Math.floor(Math.random() * 1e9))
      const now = clock.now()
      const sale = { stock: 5, initialStock: 5, beginAt: now - 1, endAt: now + 60_000 }
      await ledger.load({ voucherId, ...sale, perUserLimit: 1 }, [])
      const bucket = { tokens: 1, intervalMs: 60_000 }
      const fault = gateway.faults.add({
        mode: 'drop-reply',
        command: 'EVALSHA',
        match: (c) => c[1] === scripts.seckillReserve.sha1,
        times: 1,
      })
      const orderId = '123456789012345679'
      const r = await ledger.reserve({ voucherId, userId: '3', orderId, bucket })
      expect(fault.hits).toBe(1)
      // The first run took the only token; the re-sent script finds its order before the bucket.
      expect(r).toEqual({ kind: 'accepted', orderId, seq: 1 })
      expect(await ledger.reserve({ voucherId, userId: '4', orderId: '7', bucket })).toEqual({
        kind: 'throttled',
        retryAfterMs: 60_000,
      })
      expect(await ledger.audit(voucherId, false)).toMatchObject({ stock: 4, pending: 1 })
    })
  })
})

forEachTcpTransport('seckill ports', (t) => {
  // As the app wires it over TCP: the raw-replies client, `saleOf` written for acceptances only.
  stockLedgerContract(
    t.name,
    async (clock) =>
      new UpstashStockLedger(t.raw(), clock, t.prefix, { retentionMs, saleIndex: 'accepted' })
  )
  stockLedgerContract(
    `${t.name} (saleIndex every-call)`,
    async (clock) => new UpstashStockLedger(t.raw(), clock, t.prefix, { retentionMs })
  )
  rateLimiterContract(
    t.name,
    async (bucket) => new UpstashRateLimiter(t.client(), bucket, t.prefix)
  )
})
