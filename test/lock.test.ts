import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryIds } from '../src/adapters/memory/ids.ts'
import { MemoryLock } from '../src/adapters/memory/lock.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashLock } from '../src/adapters/upstash/lock.ts'
import { scripts } from '../src/adapters/upstash/scripts.gen.ts'
import { withLock } from '../src/domain/lock.ts'
import { lockContract } from './contracts/lock.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
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

  describe('a reply lost after the script ran (the client sends it again)', () => {
    afterEach(() => gateway.faults.clear())
    const lose = (script: 'lockAcquire' | 'lockRelease') =>
      gateway.faults.add({
        mode: 'drop-reply',
        command: 'EVALSHA',
        match: (c) => c[1] === scripts[script].sha1,
        times: 1,
      })
    const make = () =>
      new UpstashLock(
        createUpstashRedis({ url: gateway.url, token: gateway.token }),
        new ManualClock(),
        prefix
      )

    it('acquire takes one hold, so one release frees the lease', async () => {
      const lock = make()
      const name = `retry-${crypto.randomUUID()}`
      const fault = lose('lockAcquire')
      expect(await lock.tryAcquire(name, 'A', 60_000)).toEqual({ acquired: true, holds: 1 })
      expect(fault.hits).toBe(1)
      expect(await lock.release(name, 'A')).toBe('released')
      expect((await lock.tryAcquire(name, 'B', 60_000)).acquired).toBe(true)
    })

    it('release drops one hold: a re-entered lease stays held', async () => {
      const lock = make()
      const name = `retry-${crypto.randomUUID()}`
      await lock.tryAcquire(name, 'A', 60_000)
      await lock.tryAcquire(name, 'A', 60_000)
      const fault = lose('lockRelease')
      expect(await lock.release(name, 'A')).toBe('held')
      expect(fault.hits).toBe(1)
      expect((await lock.tryAcquire(name, 'B', 60_000)).acquired).toBe(false)
      const last = lose('lockRelease')
      expect(await lock.release(name, 'A')).toBe('released')
      expect(last.hits).toBe(1)
      expect((await lock.tryAcquire(name, 'B', 60_000)).acquired).toBe(true)
    })
  })
})

describe('withLock (watchdog, lost lease, release)', () => {
  it('keeps the lease alive while the work runs, then releases it', async () => {
    const clock = new ManualClock()
    const lock = new MemoryLock(clock)
    const ids = new MemoryIds(clock)
    let finish!: () => void
    const running = withLock(
      { lock, clock, ids },
      'job',
      { ttlMs: 3_000 },
      () =>
        new Promise<void>((r) => {
          finish = r
        })
    )
    await vi.waitFor(() => expect(clock.pending).toBe(1)) // the watchdog sleeps ttl/3
    for (let i = 0; i < 10; i++) {
      await clock.advance(1_000) // 10 s in all: far past the 3 s TTL
      await vi.waitFor(() => expect(clock.pending).toBe(1))
      expect((await lock.tryAcquire('job', 'other', 1_000)).acquired).toBe(false)
    }
    finish()
    await running
    expect(clock.pending).toBe(0) // the watchdog stopped
    expect((await lock.tryAcquire('job', 'other', 1_000)).acquired).toBe(true)
  })

  it('aborts the work’s signal when the lease is lost, and throws LOCK_TIMEOUT when busy', async () => {
    const clock = new ManualClock()
    const lock = new MemoryLock(clock)
    const ids = new MemoryIds(clock)
    const losing = {
      ...lock,
      tryAcquire: lock.tryAcquire.bind(lock),
      release: lock.release.bind(lock),
      extend: async () => false, // as if the lease expired during a long pause
    }
    let seen: AbortSignal | undefined
    let finish!: () => void
    const running = withLock({ lock: losing, clock, ids }, 'job', { ttlMs: 3_000 }, (signal) => {
      seen = signal
      return new Promise<void>((r) => {
        finish = r
      })
    })
    await vi.waitFor(() => expect(clock.pending).toBe(1))
    await clock.advance(1_000)
    await vi.waitFor(() => expect(seen?.aborted).toBe(true))
    finish()
    await running
    await lock.tryAcquire('busy', 'holder', 60_000)
    await expect(
      withLock({ lock, clock, ids }, 'busy', { ttlMs: 1_000 }, async () => 1)
    ).rejects.toMatchObject({
      code: 'LOCK_TIMEOUT',
    })
  })
})

forEachTcpTransport('lock', (t) => {
  lockContract(t.name, async (clock) => ({
    lock: new UpstashLock(t.client(), clock, t.prefix),
    dispose: async () => {},
  }))
})
