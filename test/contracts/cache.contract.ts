import { describe, expect, it, vi } from 'vitest'
import { ManualClock } from '../../src/adapters/memory/clock.ts'
import { MemoryIds } from '../../src/adapters/memory/ids.ts'
import { SystemClock } from '../../src/adapters/system/clock.ts'
import { randomToken } from '../../src/adapters/system/random.ts'
import {
  CacheClient,
  type CacheClientSettings,
  type CachePolicy,
} from '../../src/domain/cache/client.ts'
import { LocalCache } from '../../src/domain/cache/local.ts'
import { DomainError } from '../../src/domain/errors.ts'
import type { CacheStore } from '../../src/domain/ports/cache.ts'
import type { Clock } from '../../src/domain/ports/clock.ts'
import type { Lock } from '../../src/domain/ports/lock.ts'

export interface CacheHarness {
  store: CacheStore
  /** The Lock adapter of the same backend (the rebuild mutex). */
  lock: Lock
  dispose(): Promise<void>
}

/** Builds the store and lock of one backend on `clock` (TTLs of a real Redis run on its own clock). */
export type MakeCache = (clock: Clock) => Promise<CacheHarness>

const policy = (strategy: CachePolicy['strategy'], over: Partial<CachePolicy> = {}) => ({
  strategy,
  ttlMs: 60_000,
  nullTtlMs: 30_000,
  jitter: 0,
  ...over,
})

/**
 * The CacheStore port's contract, and the cache toolkit (CacheClient strategies) run on top of
 * each adapter with that backend's own Lock: every adapter of the port runs it.
 */
export function cacheContract(name: string, make: MakeCache) {
  const key = () => `t:${randomToken(6)}`

  describe(`CacheStore contract [${name}]`, () => {
    it('misses with null; stores and replaces strings exactly (JSON, unicode, long ids)', async () => {
      const { store, dispose } = await make(new SystemClock())
      const k = key()
      expect(await store.get(k)).toBeNull()
      const text = JSON.stringify({ v: { id: '12345678901234567890', name: '茶餐厅 ü😀' } })
      await store.set(k, text, 60_000)
      expect(await store.get(k)).toBe(text)
      await store.set(k, '123', null) // a numeric-looking string stays a string
      expect(await store.get(k)).toBe('123')
      await store.set(k, '{"v":null}', null)
      expect(await store.get(k)).toBe('{"v":null}')
      await dispose()
    })

    it('expires values after their TTL; null keeps them; a new set replaces the TTL', async () => {
      const clock = new SystemClock()
      const { store, dispose } = await make(clock)
      const [short, kept, renewed] = [key(), key(), key()]
      await store.set(short, 'a', 30)
      await store.set(kept, 'b', null)
      await store.set(renewed, 'c', 30)
      await store.set(renewed, 'c2', null)
      await vi.waitFor(async () => expect(await store.get(short)).toBeNull(), { timeout: 5_000 })
      expect(await store.get(kept)).toBe('b')
      expect(await store.get(renewed)).toBe('c2')
      await dispose()
    })

    it('deletes keys (values and bitmaps) and ignores absent ones', async () => {
      const { store, dispose } = await make(new SystemClock())
      const [a, b, bits] = [key(), key(), key()]
      await store.set(a, 'a', null)
      await store.set(b, 'b', 60_000)
      await store.setBits(bits, [3])
      await store.delete([a, b, bits, key()])
      await store.delete([])
      expect(await store.get(a)).toBeNull()
      expect(await store.get(b)).toBeNull()
      expect(await store.getBits(bits, [3])).toEqual([false])
      await dispose()
    })

    it('reads and sets bits: absent reads zeros, order kept, count of bits newly set', async () => {
      const { store, dispose } = await make(new SystemClock())
      const k = key()
      expect(await store.getBits(k, [0, 7, 1_000_000])).toEqual([false, false, false])
      expect(await store.setBits(k, [7, 1_000_000, 7])).toBe(2)
      expect(await store.setBits(k, [7, 8])).toBe(1)
      expect(await store.getBits(k, [8, 0, 7, 1_000_000, 9])).toEqual([
        true,
        false,
        true,
        true,
        false,
      ])
      expect(await store.getBits(k, [])).toEqual([])
      expect(await store.setBits(k, [])).toBe(0)
      const top = 2 ** 32 - 2 // the readiness bit of the largest Bloom filter
      expect(await store.setBits(key(), [top])).toBe(1)
      for (const bad of [-1, 2 ** 32, 1.5]) {
        await expect(store.setBits(key(), [bad]), String(bad)).rejects.toThrow(/offset/)
        await expect(store.getBits(key(), [bad]), String(bad)).rejects.toThrow(/offset/)
      }
      await dispose()
    })
  })

  describe(`Cache toolkit on the store [${name}]`, () => {
    async function setup(
      clock: Clock = new ManualClock(),
      over: Partial<CacheClientSettings> & { random?: () => number; l1TtlMs?: number } = {}
    ) {
      const h = await make(clock)
      const background: Promise<unknown>[] = []
      const local = new LocalCache({ maxEntries: 1_000, ttlMs: over.l1TtlMs ?? 0 })
      const client = new CacheClient(
        {
          store: h.store,
          lock: h.lock,
          clock,
          ids: new MemoryIds(clock),
          local,
          random: over.random ?? (() => 0),
          background: (work) => void background.push(work),
        },
        { lockTtlMs: 10_000, waitMs: 5_000, retryMs: 5, staleRetainMs: 3_600_000, ...over }
      )
      return { ...h, clock, client, local, background, k: key() }
    }

    /** A loader that counts calls and resolves with `value`. */
    function loader<T>(value: T | null) {
      const load = vi.fn(async () => value)
      return load
    }

    it('pass-through: loads a miss once, then serves it from the store', async () => {
      const { client, k, dispose } = await setup()
      const load = loader({ name: 'shop' })
      expect(await client.get(k, load, policy('pass-through'))).toEqual({
        value: { name: 'shop' },
        source: 'db',
      })
      for (let i = 0; i < 5; i++) {
        expect(await client.get(k, load, policy('pass-through'))).toEqual({
          value: { name: 'shop' },
          source: 'redis',
        })
      }
      expect(load).toHaveBeenCalledTimes(1)
      await dispose()
    })

    it('caches "does not exist" (null) with its own TTL: one load for many lookups', async () => {
      const { client, store, k, dispose } = await setup()
      const load = loader(null)
      for (const strategy of ['pass-through', 'mutex', 'logical'] as const) {
        await store.delete([k])
        load.mockClear()
        for (let i = 0; i < 10; i++) {
          const { value } = await client.get(k, load, policy(strategy))
          expect(value).toBeNull()
        }
        expect(load, strategy).toHaveBeenCalledTimes(1)
        expect(JSON.parse((await store.get(k))!)).toEqual({ v: null })
      }
      await dispose()
    })

    it('a guard that rules the key out answers null without loading or caching', async () => {
      const { client, store, k, dispose } = await setup()
      const load = loader({ a: 1 })
      const result = await client.get(k, load, policy('mutex'), async () => false)
      expect(result).toEqual({ value: null, source: 'guard' })
      expect(load).not.toHaveBeenCalled()
      expect(await store.get(k)).toBeNull()
      await dispose()
    })

    it.each(['mutex', 'logical'] as const)(
      '%s: 100 concurrent misses of one key load it exactly once',
      async (strategy) => {
        const clock = new SystemClock()
        const { client, lock, k, dispose } = await setup(clock)
        const attempts = vi.spyOn(lock, 'tryAcquire')
        // The loader holds the rebuild until every caller has tried the lock at least once.
        const load = vi.fn(async () => {
          await vi.waitFor(() => expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(100), {
            timeout: 10_000,
            interval: 5,
          })
          return { hot: true }
        })
        const results = await Promise.all(
          Array.from({ length: 100 }, () => client.get(k, load, policy(strategy)))
        )
        expect(load).toHaveBeenCalledTimes(1)
        expect(results.every((r) => (r.value as { hot: boolean }).hot)).toBe(true)
        expect(results.filter((r) => r.source === 'db')).toHaveLength(1)
        await dispose()
      }
    )

    it('mutex: after acquiring the lock it reads the cache again (double-check)', async () => {
      const { client, store, k, dispose } = await setup()
      await store.set(k, JSON.stringify({ v: 'filled by an earlier holder' }), 60_000)
      // Our first read raced with that holder: it saw nothing.
      const realGet = store.get.bind(store)
      let first = true
      store.get = async (key: string) => {
        if (first && key === k) {
          first = false
          return null
        }
        return realGet(key)
      }
      const load = loader('from the database')
      const result = await client.get(k, load, policy('mutex'))
      expect(result).toEqual({ value: 'filled by an earlier holder', source: 'redis' })
      expect(load).not.toHaveBeenCalled()
      await dispose()
    })

    it('mutex: waits a bounded time, never releases the holder’s lock, then LOCK_TIMEOUT', async () => {
      const clock = new ManualClock()
      const { client, lock, k, dispose } = await setup(clock, { waitMs: 300, retryMs: 100 })
      expect((await lock.tryAcquire(k, 'holder', 60_000)).acquired).toBe(true)
      const load = loader('x')
      let outcome: unknown
      const waiting = client.get(k, load, policy('mutex')).then(
        (r) => (outcome = r),
        (e) => (outcome = e)
      )
      for (let i = 0; i < 3; i++) {
        await vi.waitFor(() => expect(clock.pending).toBe(1))
        await clock.advance(100)
      }
      await waiting
      expect(outcome).toBeInstanceOf(DomainError)
      expect((outcome as DomainError).code).toBe('LOCK_TIMEOUT')
      expect((outcome as DomainError).details?.retryAfterMs).toBeGreaterThan(0)
      expect(load).not.toHaveBeenCalled()
      // The waiter left the holder's lease alone (the original deleted it from its finally block).
      expect((await lock.tryAcquire(k, 'someone-else', 1_000)).acquired).toBe(false)
      expect(await lock.release(k, 'holder')).toBe('released')
      await dispose()
    })

    it('mutex: a waiter returns the holder’s value as soon as it is written', async () => {
      const clock = new ManualClock()
      const { client, lock, store, k, dispose } = await setup(clock, { retryMs: 50 })
      await lock.tryAcquire(k, 'holder', 60_000)
      const load = loader('never')
      const waiting = client.get(k, load, policy('mutex'))
      await vi.waitFor(() => expect(clock.pending).toBe(1))
      await store.set(k, JSON.stringify({ v: 'by the holder' }), 60_000)
      await clock.advance(50)
      expect(await waiting).toEqual({ value: 'by the holder', source: 'redis' })
      expect(load).not.toHaveBeenCalled()
      await dispose()
    })

    it('logical: a cold key is loaded (never a null for "not preloaded")', async () => {
      const { client, store, clock, k, dispose } = await setup()
      const result = await client.get(k, loader({ n: 1 }), policy('logical', { ttlMs: 1_000 }))
      expect(result).toEqual({ value: { n: 1 }, source: 'db' })
      const stored = JSON.parse((await store.get(k))!)
      expect(stored).toEqual({ v: { n: 1 }, x: clock.now() + 1_000 })
      await dispose()
    })

    it('logical: past expiry, 50 callers get the stale value and exactly one refresh runs', async () => {
      const clock = new ManualClock()
      const { client, store, k, background, dispose } = await setup(clock)
      const p = policy('logical', { ttlMs: 1_000 })
      let version = 1
      const load = vi.fn(async () => ({ version }))
      await client.get(k, load, p)
      await clock.advance(1_001)
      version = 2
      const stale = await Promise.all(Array.from({ length: 50 }, () => client.get(k, load, p)))
      expect(stale.every((r) => r.source === 'stale' && r.value?.version === 1)).toBe(true)
      expect(background).toHaveLength(1)
      await Promise.all(background)
      expect(load).toHaveBeenCalledTimes(2)
      expect(JSON.parse((await store.get(k))!).v).toEqual({ version: 2 })
      expect(await client.get(k, load, p)).toEqual({ value: { version: 2 }, source: 'redis' })
      // The lock was released: the next expiry can be refreshed again.
      await clock.advance(1_001)
      await client.get(k, load, p)
      await Promise.all(background)
      expect(load).toHaveBeenCalledTimes(3)
      await dispose()
    })

    it('spreads TTLs by the jitter fraction (against avalanche)', async () => {
      const randoms = [0, 0.5, 0.999]
      const clock = new ManualClock()
      const { client, store, dispose } = await setup(clock, { random: () => randoms.shift()! })
      const keys = [key(), key(), key()]
      for (const k of keys) {
        await client.get(k, loader(1), policy('logical', { ttlMs: 10_000, jitter: 0.2 }))
      }
      const expiries = await Promise.all(
        keys.map(async (k) => JSON.parse((await store.get(k))!).x - clock.now())
      )
      expect(expiries).toEqual([10_000, 11_000, 11_998])
      await dispose()
    })

    it('invalidate deletes the entry (store and L1): the next read loads the new value', async () => {
      const { client, k, dispose } = await setup(new ManualClock(), { l1TtlMs: 60_000 })
      let value = 'old'
      const load = vi.fn(async () => value)
      await client.get(k, load, policy('mutex'))
      expect((await client.get(k, load, policy('mutex'))).source).toBe('l1')
      value = 'new'
      await client.invalidate(k)
      expect(await client.get(k, load, policy('mutex'))).toEqual({ value: 'new', source: 'db' })
      await dispose()
    })

    it('invalidate waits for an in-flight rebuild, so its older value cannot survive', async () => {
      const clock = new SystemClock()
      const { client, store, lock, k, dispose } = await setup(clock)
      const attempts = vi.spyOn(lock, 'tryAcquire')
      let release!: () => void
      const gate = new Promise<void>((resolve) => (release = resolve))
      // A reader loaded the row before the write committed and is about to cache it.
      const reading = client.get(
        k,
        async () => {
          await gate
          return 'before the write'
        },
        policy('mutex')
      )
      await vi.waitFor(() => expect(attempts).toHaveBeenCalledTimes(1))
      const invalidating = client.invalidate(k)
      await vi.waitFor(() => expect(attempts.mock.calls.length).toBeGreaterThanOrEqual(2)) // the writer waits
      release()
      await Promise.all([reading, invalidating])
      expect(await store.get(k)).toBeNull()
      await dispose()
    })
  })
}
