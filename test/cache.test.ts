import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest'
import { MemoryCacheStore } from '../src/adapters/memory/cache-store.ts'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { MemoryGeoIndex } from '../src/adapters/memory/geo.ts'
import { MemoryIds } from '../src/adapters/memory/ids.ts'
import { MemoryLock } from '../src/adapters/memory/lock.ts'
import { UpstashCacheStore } from '../src/adapters/upstash/cache-store.ts'
import { createUpstashRedis } from '../src/adapters/upstash/client.ts'
import { UpstashGeoIndex } from '../src/adapters/upstash/geo.ts'
import { UpstashLock } from '../src/adapters/upstash/lock.ts'
import { BloomFilter, bloomOffsets, bloomShape } from '../src/domain/cache/bloom.ts'
import { CacheClient, type CachePolicy } from '../src/domain/cache/client.ts'
import { LocalCache } from '../src/domain/cache/local.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import type { CacheStore } from '../src/domain/ports/cache.ts'
import { cacheContract } from './contracts/cache.contract.ts'
import { geoContract } from './contracts/geo.contract.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { forEachTcpTransport } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

cacheContract('memory', async (clock) => ({
  store: new MemoryCacheStore(clock),
  lock: new MemoryLock(clock),
  dispose: async () => {},
}))
geoContract('memory', async () => ({ geo: new MemoryGeoIndex(), dispose: async () => {} }))

describe.skipIf(!inject('services').redis)('real Redis through the Upstash gateway', () => {
  const prefix = uniquePrefix('cache')
  let gateway: UpstashGateway
  let direct: DirectRedis
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'cache-token' })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
  })
  const client = (rawReplies: boolean) =>
    createUpstashRedis({ url: gateway.url, token: gateway.token, rawReplies })

  cacheContract('upstash', async (clock) => ({
    store: new UpstashCacheStore(client(true), prefix),
    lock: new UpstashLock(client(false), clock, prefix),
    dispose: async () => {},
  }))
  geoContract('upstash', async () => ({
    geo: new UpstashGeoIndex(client(true), prefix),
    dispose: async () => {},
  }))

  it('reads all bits of a Bloom lookup in one command, batched with a concurrent GET', async () => {
    const store = new UpstashCacheStore(client(true), prefix)
    const bloom = new BloomFilter(store, 'one-trip', bloomShape(1_000, 0.01))
    await bloom.add(['42'])
    await bloom.markReady()
    await store.set('one-trip:value', 'v', 60_000)
    gateway.resetStats()
    const [value, verdict] = await Promise.all([store.get('one-trip:value'), bloom.check('42')])
    expect([value, verdict]).toEqual(['v', 'maybe'])
    // One HTTP request carrying two commands: GET and one EVALSHA_RO for all k+1 bits.
    expect(gateway.stats()).toMatchObject({ requests: 1, commands: 2 })
    expect(await direct.getBit(`${prefix}${bloom.key}`, bloom.shape.bits)).toBe(1)
  })
})

describe('Bloom filter', () => {
  it('is sized from the expected count and false-positive rate', () => {
    expect(bloomShape(100_000, 0.01)).toEqual({ bits: 958_506, hashes: 7 })
    expect(bloomShape(1_000, 0.001)).toEqual({ bits: 14_378, hashes: 10 })
    expect(bloomShape(1, 0.5)).toEqual({ bits: 2, hashes: 1 })
    expect(() => bloomShape(0, 0.01)).toThrow(RangeError)
    expect(() => bloomShape(100, 1)).toThrow(RangeError)
    expect(() => bloomShape(2 ** 31, 1e-9)).toThrow(/exceeds/)
  })

  it('hashes deterministically to k distinct offsets inside the filter', () => {
    const shape = bloomShape(10_000, 0.01)
    const a = bloomOffsets('12345', shape)
    expect(bloomOffsets('12345', shape)).toEqual(a)
    expect(a).toHaveLength(shape.hashes)
    expect(new Set(a).size).toBe(shape.hashes)
    expect(bloomOffsets('12346', shape)).not.toEqual(a)
    for (let id = 1; id <= 2_000; id++) {
      for (const o of bloomOffsets(String(id), shape)) {
        if (!Number.isInteger(o) || o < 0 || o >= shape.bits) throw new Error(`${id}: ${o}`)
      }
    }
  })

  it('never forgets an added id and stays near the configured false-positive rate', async () => {
    const store = new MemoryCacheStore(new ManualClock())
    const shape = bloomShape(5_000, 0.01)
    const bloom = new BloomFilter(store, 'fp', shape)
    const added = Array.from({ length: 5_000 }, (_, i) => String(1 + i * 3))
    await bloom.add(added)
    await bloom.markReady()
    for (const id of added) expect(await bloom.check(id)).toBe('maybe')
    let falsePositives = 0
    const probes = 20_000
    for (let i = 0; i < probes; i++) {
      if ((await bloom.check(String(2 + i * 3))) === 'maybe') falsePositives++
    }
    const rate = falsePositives / probes
    console.log(`bloom: ${shape.bits} bits, k=${shape.hashes}, measured fp rate ${rate}`)
    expect(rate).toBeLessThan(0.02)
  })

  it('answers "unready" (never "absent") until a full build is marked complete', async () => {
    const store = new MemoryCacheStore(new ManualClock())
    const shape = bloomShape(100, 0.01)
    const bloom = new BloomFilter(store, 'ready', shape)
    expect(await bloom.check('1')).toBe('unready')
    expect(await bloom.isReady()).toBe(false)
    await bloom.add(['1'])
    expect(await bloom.check('2')).toBe('unready')
    await bloom.markReady()
    expect(await bloom.isReady()).toBe(true)
    expect(await bloom.check('1')).toBe('maybe')
    expect(await bloom.check('2')).toBe('absent')
    // The key carries the shape: resizing starts a new, unready filter.
    const resized = new BloomFilter(store, 'ready', bloomShape(1_000, 0.01))
    expect(resized.key).not.toBe(bloom.key)
    expect(await resized.check('1')).toBe('unready')
    await store.delete([bloom.key]) // a flushed Redis
    expect(await bloom.check('2')).toBe('unready')
  })
})

describe('LocalCache (L1)', () => {
  it('evicts the least recently used entry beyond its capacity', () => {
    const l1 = new LocalCache({ maxEntries: 2, ttlMs: 1_000 })
    l1.set('a', 'A', 0, 10_000, 0)
    l1.set('b', 'B', 0, 10_000, 0)
    expect(l1.get('a', 1)?.text).toBe('A') // a is now the most recent
    l1.set('c', 'C', 1, 10_000, 0)
    expect(l1.size).toBe(2)
    expect(l1.get('b', 2)).toBeUndefined()
    expect(l1.get('a', 2)?.text).toBe('A')
    expect(l1.get('c', 2)?.text).toBe('C')
  })

  it('is fresh for its TTL, then kept (not fresh) until the entry’s own TTL', () => {
    const l1 = new LocalCache({ maxEntries: 10, ttlMs: 1_000 })
    l1.set('k', 'v', 0, 5_000, 0)
    expect(l1.get('k', 999)).toEqual({ text: 'v', fresh: true })
    expect(l1.get('k', 1_000)).toEqual({ text: 'v', fresh: false })
    expect(l1.get('k', 5_000)).toBeUndefined()
  })

  it('after an invalidation, refuses values read before it (no stale repopulation)', () => {
    const l1 = new LocalCache({ maxEntries: 10, ttlMs: 1_000 })
    l1.set('k', 'old', 10, 5_000, 10)
    l1.invalidate('k', 20)
    expect(l1.get('k', 21)).toBeUndefined()
    l1.set('k', 'read before the write', 22, 5_000, 15)
    expect(l1.get('k', 23)).toBeUndefined()
    l1.set('k', 'read after the write', 30, 5_000, 25)
    expect(l1.get('k', 31)?.text).toBe('read after the write')
  })

  it('maxEntries 0 disables it; the Redis-down window ends by itself', () => {
    const off = new LocalCache({ maxEntries: 0, ttlMs: 1_000 })
    off.set('k', 'v', 0, 5_000, 0)
    expect(off.get('k', 1)).toBeUndefined()
    const l1 = new LocalCache({ maxEntries: 1, ttlMs: 1_000, retryAfterMs: 500 })
    expect(l1.redisDown(0)).toBe(false)
    l1.markRedisDown(100)
    expect(l1.redisDown(599)).toBe(true)
    expect(l1.redisDown(600)).toBe(false)
    expect(l1.claim('job', 0, 100)).toBe(true)
    expect(l1.claim('job', 99, 100)).toBe(false)
    expect(l1.claim('job', 100, 100)).toBe(true)
  })
})

describe('CacheClient when Redis is unreachable', () => {
  /** A store that can be switched off: then every call fails like the Upstash adapter's do. */
  function switchable(clock: ManualClock) {
    const inner = new MemoryCacheStore(clock)
    const state = { down: false, calls: 0 }
    const guard =
      <A extends unknown[], R>(f: (...a: A) => Promise<R>) =>
      async (...a: A): Promise<R> => {
        state.calls++
        if (state.down) throw new DependencyUnavailable('redis', new Error('connection refused'))
        return f(...a)
      }
    const store: CacheStore = {
      get: guard((k) => inner.get(k)),
      set: guard((k, v, t) => inner.set(k, v, t)),
      delete: guard((k) => inner.delete(k)),
      getBits: guard((k, o) => inner.getBits(k, o)),
      setBits: guard((k, o) => inner.setBits(k, o)),
    }
    return { store, state }
  }

  function setup() {
    const clock = new ManualClock()
    const { store, state } = switchable(clock)
    const local = new LocalCache({ maxEntries: 100, ttlMs: 1_000, retryAfterMs: 2_000 })
    const client = new CacheClient({
      store,
      lock: new MemoryLock(clock),
      clock,
      ids: new MemoryIds(clock),
      local,
      random: () => 0,
      background: () => {},
    })
    return { clock, state, client, local }
  }
  const p: CachePolicy = { strategy: 'mutex', ttlMs: 60_000, nullTtlMs: 10_000, jitter: 0 }

  it('serves what the L1 holds as degraded, refuses the rest, and recovers by itself', async () => {
    const { clock, state, client } = setup()
    const load = vi.fn(async () => ({ name: 'cached' }))
    await client.get('shop:1', load, p)
    await client.get('shop:missing', async () => null, p)
    await clock.advance(5_000) // past the L1 TTL: normally Redis is asked again
    state.down = true
    expect(await client.get('shop:1', load, p)).toEqual({
      value: { name: 'cached' },
      source: 'degraded',
    })
    expect(await client.get('shop:missing', load, p)).toEqual({ value: null, source: 'degraded' })
    const refused = await client.get('shop:2', load, p).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(DependencyUnavailable)
    // While marked down, Redis is not even tried (no retry storm, fast answers).
    const calls = state.calls
    await client.get('shop:1', load, p)
    await client.get('shop:2', load, p).catch(() => {})
    expect(state.calls).toBe(calls)
    expect(load).toHaveBeenCalledTimes(1)
    // Redis is back: after the retry window the next read goes to it again.
    state.down = false
    await clock.advance(2_000)
    expect(await client.get('shop:1', load, p)).toEqual({
      value: { name: 'cached' },
      source: 'redis',
    })
    expect(await client.get('shop:2', load, p)).toEqual({ value: { name: 'cached' }, source: 'db' })
  })

  it('does not serve an L1 copy older than the entry’s own TTL', async () => {
    const { clock, state, client } = setup()
    await client.get('shop:1', async () => 'v', p)
    await clock.advance(60_001)
    state.down = true
    await expect(client.get('shop:1', async () => 'v', p)).rejects.toBeInstanceOf(
      DependencyUnavailable
    )
  })
})

forEachTcpTransport('cache ports', (t) => {
  cacheContract(t.name, async (clock) => ({
    store: new UpstashCacheStore(t.raw(), t.prefix),
    lock: new UpstashLock(t.client(), clock, t.prefix),
    dispose: async () => {},
  }))
  geoContract(t.name, async () => ({
    geo: new UpstashGeoIndex(t.raw(), t.prefix),
    dispose: async () => {},
  }))
})
