import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MemoryFeedInbox } from '../src/adapters/memory/feed.ts'
import { MemoryFollowIndex } from '../src/adapters/memory/follows.ts'
import { MemoryLikeIndex } from '../src/adapters/memory/likes.ts'
import { MemorySignInCalendar } from '../src/adapters/memory/signins.ts'
import { MemoryVisitorCounter } from '../src/adapters/memory/visitors.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashFeedInbox } from '../src/adapters/upstash/feed.ts'
import { UpstashFollowIndex } from '../src/adapters/upstash/follows.ts'
import { UpstashLikeIndex } from '../src/adapters/upstash/likes.ts'
import { UpstashSignInCalendar } from '../src/adapters/upstash/signins.ts'
import { UpstashVisitorCounter } from '../src/adapters/upstash/visitors.ts'
import { DedupingVisitorCounter } from '../src/domain/social/visitors.ts'
import { feedInboxContract } from './contracts/feed-inbox.contract.ts'
import { followIndexContract } from './contracts/follow-index.contract.ts'
import { likeIndexContract } from './contracts/like-index.contract.ts'
import { signInCalendarContract } from './contracts/signin-calendar.contract.ts'
import { visitorCounterContract } from './contracts/visitor-counter.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

likeIndexContract('memory', async () => new MemoryLikeIndex())
followIndexContract('memory', async () => new MemoryFollowIndex())
feedInboxContract('memory', async () => new MemoryFeedInbox())
signInCalendarContract('memory', async () => new MemorySignInCalendar())
visitorCounterContract('memory', async () => new MemoryVisitorCounter())
visitorCounterContract(
  'deduping(memory)',
  async () => new DedupingVisitorCounter(new MemoryVisitorCounter())
)

describe.skipIf(!inject('services').redis)(
  'social ports on real Redis through the Upstash gateway',
  () => {
    const prefix = uniquePrefix('social-ports')
    let gateway: UpstashGateway
    let direct: DirectRedis
    let n = 0
    /** A client and a key namespace of its own for every `make()`. */
    const fresh = () => ({
      redis: createUpstashRedis({ url: gateway.url, token: gateway.token }),
      prefix: `${prefix}${n++}:`,
    })
    beforeAll(async () => {
      gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'social-ports-token' })
      direct = await directRedis()
    })
    afterAll(async () => {
      await deleteByPrefix(direct, prefix)
      await direct.quit()
      await gateway.close()
    })

    likeIndexContract('upstash', async () => {
      const { redis, prefix } = fresh()
      return new UpstashLikeIndex(redis, prefix)
    })
    followIndexContract('upstash', async () => {
      const { redis, prefix } = fresh()
      return new UpstashFollowIndex(redis, prefix)
    })
    feedInboxContract('upstash', async () => {
      const { redis, prefix } = fresh()
      return new UpstashFeedInbox(redis, prefix)
    })
    signInCalendarContract('upstash', async () => {
      const { redis, prefix } = fresh()
      return new UpstashSignInCalendar(redis, prefix)
    })
    visitorCounterContract('upstash', async () => {
      const { redis, prefix } = fresh()
      return new UpstashVisitorCounter(redis, prefix)
    })

    it('uses the documented key layout (what ops and the README refer to)', async () => {
      const { redis, prefix: p } = fresh()
      await new UpstashLikeIndex(redis, p).put('42', '7', 1000)
      await new UpstashFollowIndex(redis, p).put('7', '8', true)
      await new UpstashFeedInbox(redis, p).push(['8'], '42', 1000, 10)
      await new UpstashSignInCalendar(redis, p).mark('7', '202601', 2)
      await new UpstashVisitorCounter(redis, p).record('20260101', ['u:7'])
      expect(await direct.zScore(`${p}blog:liked:{42}`, '7')).toBe(1000)
      expect(await direct.sMembers(`${p}follows:{7}`)).toEqual(['8'])
      expect(await direct.zScore(`${p}feed:{8}`, '42')).toBe(1000)
      expect(await direct.getBit(`${p}sign:{7}:202601`, 1)).toBe(1)
      expect(await direct.pfCount(`${p}uv:{uv}:20260101`)).toBe(1)
      expect(await direct.ttl(`${p}uv:{uv}:20260101`)).toBeGreaterThan(399 * 86_400)
    })

    it('UV of 100,000 synthetic visitors is within 1 % (PFADD 1,000 per command, pipelined)', async () => {
      const { redis, prefix: p } = fresh()
      const uv = new UpstashVisitorCounter(redis, p)
      gateway.resetStats()
      const TOTAL = 100_000
      const CALL = 10_000
      // Day 1: visitors 0..59,999; day 2: 40,000..99,999 (20,000 visit on both days). Each call
      // records 10,000 visitors: 10 PFADDs of 1,000 and an EXPIRE in one pipeline (one request).
      const calls: Promise<void>[] = []
      for (let start = 0; start < TOTAL; start += CALL) {
        const ids = Array.from({ length: CALL }, (_, i) => `visitor_${start + i}`)
        if (start < 60_000) calls.push(uv.record('20260301', ids))
        if (start >= 40_000) calls.push(uv.record('20260302', ids))
      }
      await Promise.all(calls)
      const { perDay, union } = await uv.count(['20260301', '20260302'])
      const error = (estimate: number, truth: number) => Math.abs(estimate - truth) / truth
      expect(error(perDay[0]!, 60_000)).toBeLessThan(0.01)
      expect(error(perDay[1]!, 60_000)).toBeLessThan(0.01)
      expect(error(union, TOTAL)).toBeLessThan(0.01)
      const stats = gateway.stats()
      expect(stats.commands).toBe(120 + 12 + 3) // PFADDs, EXPIREs, PFCOUNTs
      expect(stats.requests).toBe(12 + 1)
      console.info(
        `[uv] 100,000 visitors: union estimate ${union} (error ${(error(union, TOTAL) * 100).toFixed(3)} %), days ${perDay.join(' / ')} of 60,000; ${stats.requests} HTTP requests`
      )
    })
  }
)

forEachTcpTransport('social ports', (t) => {
  let n = 0
  /** A key namespace of its own for every `make()`. */
  const fresh = () => `${t.prefix}${n++}:`
  likeIndexContract(t.name, async () => new UpstashLikeIndex(t.client(), fresh()))
  followIndexContract(t.name, async () => new UpstashFollowIndex(t.client(), fresh()))
  feedInboxContract(t.name, async () => new UpstashFeedInbox(t.client(), fresh()))
  signInCalendarContract(t.name, async () => new UpstashSignInCalendar(t.client(), fresh()))
  visitorCounterContract(t.name, async () => new UpstashVisitorCounter(t.client(), fresh()))
})
