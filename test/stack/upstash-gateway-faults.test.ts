import { randomUUID } from 'node:crypto'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from '../harness/redis.ts'
import { REDIS_URL } from '../harness/services.ts'
import { seededRandom } from './faults.ts'
import { startUpstashGateway, type UpstashGateway } from './upstash-gateway.ts'

const { redis: redisAvailable } = inject('services')

/**
 * @upstash/redis retries a request only when fetch itself rejects (a network error, never an HTTP
 * error status): by default 5 retries after exp(i) * 50 ms (50, 136, 369, 1004, 2730 ms). So a
 * reply the gateway drops after running the command makes the client send the command again.
 */
describe.skipIf(!redisAvailable)('Upstash gateway fault injection', () => {
  const prefix = uniquePrefix('gwf')
  let gw: UpstashGateway
  let direct: DirectRedis
  let key: (name: string) => string
  /** One request per command (no auto-pipelining), the client's default retry policy. */
  let single: Redis
  /** The client's default: auto-pipelining, so commands travel as /pipeline. */
  let piped: Redis

  beforeAll(async () => {
    gw = await startUpstashGateway({ redisUrl: REDIS_URL, token: randomUUID() })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gw.close()
  })
  beforeEach(() => {
    gw.faults.clear()
    gw.faults.resetStats()
    gw.resetStats()
    const testPrefix = `${prefix}${randomUUID().slice(0, 8)}:`
    key = (name) => `${testPrefix}${name}`
    single = new Redis({ url: gw.url, token: gw.token, enableAutoPipelining: false })
    piped = new Redis({ url: gw.url, token: gw.token })
  })

  it('drop-reply: the command runs, the client retries it, and it runs twice (INCR ends at 2)', async () => {
    const fault = gw.faults.add({ command: 'incr', mode: 'drop-reply', times: 1 })
    expect(await single.incr(key('n'))).toBe(2)
    expect(await direct.get(key('n'))).toBe('2')
    expect(fault).toMatchObject({ hits: 1, done: true })
    expect(gw.faults.stats()).toEqual({ dropReply: 1, dropRequest: 0 })
    expect(gw.stats()).toMatchObject({ requests: 2, commands: 2 })
    // Spent after one fault: the next INCR is answered normally.
    expect(await single.incr(key('n'))).toBe(3)
  })

  it('drop-request: the command never ran, the retry runs it once (INCR ends at 1)', async () => {
    gw.faults.add({ command: 'INCR', mode: 'drop-request', times: 2 })
    expect(await single.incr(key('n'))).toBe(1)
    expect(await direct.get(key('n'))).toBe('1')
    expect(gw.faults.stats()).toEqual({ dropReply: 0, dropRequest: 2 })
    expect(gw.stats()).toMatchObject({ requests: 3, commands: 1 })
  })

  it('only the named command is faulted; others pass', async () => {
    gw.faults.add({ command: 'incr', mode: 'drop-request' })
    const noRetry = new Redis({ ...conn(), retry: { retries: 0 }, enableAutoPipelining: false })
    expect(await noRetry.set(key('s'), 'v')).toBe('OK')
    await expect(noRetry.incr(key('n'))).rejects.toThrow(/fetch failed/)
    expect(await noRetry.get(key('s'))).toBe('v')
    expect(await direct.exists(key('n'))).toBe(0)
  })

  it('a client with its retries spent sees the network error (every match, until cleared)', async () => {
    const fault = gw.faults.add({ command: 'incr', mode: 'drop-reply' })
    const twice = new Redis({ ...conn(), retry: { retries: 1, backoff: () => 0 } })
    await expect(twice.incr(key('n'))).rejects.toThrow(/fetch failed/)
    expect(await direct.get(key('n'))).toBe('2') // ran on both attempts, both replies lost
    expect(fault).toMatchObject({ hits: 2, done: false })
    gw.faults.clear()
    expect(fault.done).toBe(true)
    expect(await twice.incr(key('n'))).toBe(3)
    expect(gw.faults.stats()).toEqual({ dropReply: 2, dropRequest: 0 })
  })

  it('/pipeline: a matching pipeline runs whole, its reply is lost, and it runs whole again', async () => {
    gw.faults.add({ command: 'incr', mode: 'drop-reply', times: 1 })
    const [a, b] = await Promise.all([piped.incr(key('a')), piped.set(key('b'), 'x')])
    expect([a, await direct.get(key('a'))]).toEqual([2, '2'])
    expect(b).toBe('OK')
    expect(gw.stats().byPath).toEqual({ '/pipeline': 2 })
    const p = piped.pipeline()
    p.incr(key('c'))
    p.get(key('a'))
    gw.faults.add({ command: 'get', mode: 'drop-request', times: 1 })
    expect(await p.exec()).toEqual([1, 2]) // dropped whole: the INCR ran once
    expect(gw.faults.stats()).toEqual({ dropReply: 1, dropRequest: 1 })
  })

  it('/multi-exec: a matching transaction runs whole, its reply is lost, and it runs again', async () => {
    gw.faults.add({ command: 'incrby', mode: 'drop-reply', times: 1 })
    const m = single.multi()
    m.incr(key('t'))
    m.incrby(key('t'), 10)
    expect(await m.exec()).toEqual([12, 22])
    expect(await direct.get(key('t'))).toBe('22')
    expect(gw.stats().byPath).toEqual({ '/multi-exec': 2 })
    expect(gw.faults.stats().dropReply).toBe(1)
  })

  it('a predicate picks one script (EVALSHA of its SHA) or a key pattern', async () => {
    const bump = single.createScript<number>("return redis.call('INCR', KEYS[1])")
    const other = single.createScript<number>("return redis.call('INCRBY', KEYS[1], 5)")
    expect(await bump.exec([key('x')], [])).toBe(1) // loads the script (EVAL once, then EVALSHA)
    expect(await other.exec([key('y')], [])).toBe(5)
    const fault = gw.faults.add({
      command: 'evalsha',
      match: (c) => c[1] === bump.sha1,
      mode: 'drop-reply',
      times: 1,
    })
    expect(await other.exec([key('y')], [])).toBe(10)
    expect(fault.hits).toBe(0)
    expect(await bump.exec([key('x')], [])).toBe(3) // 2 ran, reply lost; the retry ran again
    expect(fault.hits).toBe(1)

    const mine = key('hot:')
    gw.faults.add({ match: (c) => c.slice(1).some((a) => a.startsWith(mine)), mode: 'drop-reply' })
    expect(await single.incr(key('cold'))).toBe(1)
    const noRetry = new Redis({ ...conn(), retry: { retries: 0 }, enableAutoPipelining: false })
    await expect(noRetry.incr(key('hot:1'))).rejects.toThrow(/fetch failed/)
    expect(await direct.get(key('hot:1'))).toBe('1')
  })

  it('a random fraction is reproducible: the seeded PRNG picks exactly the same requests', async () => {
    const noRetry = new Redis({ ...conn(), retry: { retries: 0 }, enableAutoPipelining: false })
    const run = async (seed: number, label: string) => {
      const fault = gw.faults.add({ command: 'incr', mode: 'drop-reply', fraction: 0.3, seed })
      const lost: number[] = []
      for (let i = 0; i < 100; i++) {
        await noRetry.incr(key(`${label}:${i}`)).catch(() => lost.push(i))
      }
      fault.remove()
      return lost
    }
    const random = seededRandom(7)
    const expected = Array.from({ length: 100 }, (_, i) => i).filter(() => random() < 0.3)
    expect(expected.length).toBeGreaterThan(15)
    expect(expected.length).toBeLessThan(45)
    expect(await run(7, 'a')).toEqual(expected)
    expect(await run(7, 'b')).toEqual(expected)
    expect(await run(8, 'c')).not.toEqual(expected)
    // A faulted INCR still ran (drop-reply): its reply was lost, not the command.
    expect(await direct.get(key(`a:${expected[0]}`))).toBe('1')
  })

  it('fraction with times: at most N faults; rules are asked in order; bad schedules refused', async () => {
    const first = gw.faults.add({ command: 'incr', mode: 'drop-request', fraction: 1, times: 1 })
    const second = gw.faults.add({ command: 'incr', mode: 'drop-reply', times: 1 })
    expect(await single.incr(key('n'))).toBe(2) // dropped, then ran with its reply lost, then ran
    expect([first.hits, second.hits]).toEqual([1, 1])
    expect(gw.faults.stats()).toEqual({ dropReply: 1, dropRequest: 1 })
    expect(() => gw.faults.add({ mode: 'drop-reply', fraction: 1.5 })).toThrow(RangeError)
    expect(() => gw.faults.add({ mode: 'drop-reply', times: -1 })).toThrow(RangeError)
  })

  function conn() {
    return { url: gw.url, token: gw.token }
  }
})
