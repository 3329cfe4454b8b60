import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryIds } from '../src/adapters/memory/ids.ts'
import { SystemClock } from '../src/adapters/system/clock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashIds } from '../src/adapters/upstash/ids.ts'
import { clockContract } from './contracts/clock.contract.ts'
import { idsContract } from './contracts/ids.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

clockContract('system', () => {
  const clock = new SystemClock()
  return { clock, pass: (ms) => clock.sleep(ms) }
})

clockContract('manual', () => {
  const clock = new ManualClock()
  return { clock, pass: (ms) => clock.advance(ms) }
})

idsContract('memory', async (clock) => ({ ids: new MemoryIds(clock), dispose: async () => {} }))

describe.skipIf(!inject('services').redis)('real Redis through the Upstash gateway', () => {
  const prefix = uniquePrefix('ids')
  let gateway: UpstashGateway
  let direct: DirectRedis
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'ids-token' })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
  })

  idsContract('upstash', async (clock) => ({
    ids: new UpstashIds(
      createUpstashRedis({ url: gateway.url, token: gateway.token }),
      clock,
      prefix
    ),
    dispose: async () => {},
  }))

  it('keeps per-day sequence keys for two days only (they do not pile up)', async () => {
    const clock = new ManualClock(Date.UTC(2026, 10, 23))
    const ids = new UpstashIds(
      createUpstashRedis({ url: gateway.url, token: gateway.token }),
      clock,
      prefix
    )
    await ids.next('ttl')
    const ttl = await direct.ttl(`${prefix}icr:ttl:20261123`)
    expect(ttl).toBeGreaterThan(2 * 86_400 - 10)
    expect(ttl).toBeLessThanOrEqual(2 * 86_400)
  })

  it('costs one HTTP round trip per id', async () => {
    const ids = new UpstashIds(
      createUpstashRedis({ url: gateway.url, token: gateway.token }),
      new ManualClock(),
      prefix
    )
    gateway.resetStats()
    await ids.next('rt')
    expect(gateway.stats().requests).toBe(1)
  })
})

forEachTcpTransport('ids', (t) => {
  idsContract(t.name, async (clock) => ({
    ids: new UpstashIds(t.client(), clock, t.prefix),
    dispose: async () => {},
  }))
})
