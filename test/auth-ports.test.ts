import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
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
import { startLossyProxy } from './stack/lossy-proxy.ts'
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

  const raw = () => createUpstashRedis({ url: gateway.url, token: gateway.token, rawReplies: true })
  // The app gives the store the raw-replies client; a deserializing one must work too.
  sessionContract('upstash', async (clock) => new UpstashSessionStore(raw(), clock, prefix))
  sessionContract(
    'upstash (deserializing client)',
    async (clock) => new UpstashSessionStore(redis(), clock, prefix)
  )
  loginCodesContract('upstash', async (clock) => new UpstashLoginCodes(redis(), clock, prefix))
  windowLimiterContract(
    'upstash',
    async (clock) => new UpstashWindowLimiter(redis(), clock, prefix)
  )

  it('login-code check: a lost reply + the client retry returns the first outcome', async () => {
    const proxy = await startLossyProxy(gateway.url)
    try {
      const lossy = createUpstashRedis({ url: proxy.url, token: 'auth-token' })
      const codes = new UpstashLoginCodes(lossy, new ManualClock(), prefix)
      const policy = { maxFailures: 5, lockMs: 60_000 }
      const p = `+8613900${String(Date.now() % 1e5).padStart(5, '0')}`
      await codes.issue(p, '818181', 120_000)
      // A wrong code whose reply is lost counts once.
      proxy.loseReplyOf('"000000"')
      expect(await codes.verify(p, '000000', policy)).toEqual({
        ok: false,
        reason: 'invalid',
        attemptsLeft: 4,
      })
      expect(await codes.verify(p, '000001', policy)).toMatchObject({ attemptsLeft: 3 })
      // The consume whose reply is lost is recognised on retry, not counted as a wrong code.
      proxy.loseReplyOf('"818181"')
      expect(await codes.verify(p, '818181', policy)).toEqual({ ok: true })
      expect(proxy.lost).toBe(2)
      // …and the code stays one-time for every other call.
      expect(await codes.verify(p, '818181', policy)).toMatchObject({ ok: false })
    } finally {
      await proxy.close()
    }
  })
})

forEachTcpTransport('auth ports', (t) => {
  sessionContract(t.name, async (clock) => new UpstashSessionStore(t.raw(), clock, t.prefix))
  loginCodesContract(t.name, async (clock) => new UpstashLoginCodes(t.client(), clock, t.prefix))
  windowLimiterContract(
    t.name,
    async (clock) => new UpstashWindowLimiter(t.client(), clock, t.prefix)
  )
})
