import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { ManualClock } from '../src/adapters/memory/clock.ts'
import { createUpstashRedis, type Redis } from '../src/adapters/upstash/client.ts'
import { UpstashIds } from '../src/adapters/upstash/ids.ts'
import { createNodeRestRedis } from '../src/adapters/upstash/rest-node.ts'
import {
  openTcpRedis,
  parseRedisUrl,
  routingKey,
  type TcpRedis,
} from '../src/adapters/upstash/tcp.ts'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import { freePort } from './harness/net.ts'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from './harness/redis.ts'
import { REDIS_URL } from './harness/services.ts'
import { deleteEverywhere, tcpRedisUrl, tcpTransportNames } from './harness/transports.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

describe('REDIS_URL parsing', () => {
  it('reads single nodes, TLS and cluster seeds (credentials kept per node)', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6379')).toEqual({
      cluster: false,
      nodes: ['redis://127.0.0.1:6379'],
    })
    expect(parseRedisUrl('rediss://u:p%40ss@host.example:6380/0')).toEqual({
      cluster: false,
      nodes: ['rediss://u:p%40ss@host.example:6380/0'],
    })
    expect(parseRedisUrl('redis+cluster://:pw@10.0.0.1:7000,10.0.0.2:7001')).toEqual({
      cluster: true,
      nodes: ['redis://:pw@10.0.0.1:7000', 'redis://:pw@10.0.0.2:7001'],
    })
    expect(parseRedisUrl('redis://10.0.0.1:7000', true).cluster).toBe(true)
    expect(parseRedisUrl('rediss+cluster://[::1]:7000').nodes).toEqual(['rediss://[::1]:7000'])
  })

  it('refuses other schemes and malformed hosts, naming REDIS_URL', () => {
    expect(() => parseRedisUrl('http://127.0.0.1:6379')).toThrow(/REDIS_URL/)
    expect(() => parseRedisUrl('redis://a:b:c')).toThrow(/REDIS_URL: invalid host/)
  })

  it('routes scripts by KEYS[1] and keyless commands to any node', () => {
    expect(routingKey(['EVALSHA', 'abc', '2', 'k{1}', 'k{1}:x', 'arg'])).toBe('k{1}')
    expect(routingKey(['EVAL_RO', 'return 1', '0'])).toBeUndefined()
    expect(routingKey(['SCRIPT', 'LOAD', 'return 1'])).toBeUndefined()
    expect(routingKey(['PING'])).toBeUndefined()
    // one channel, one node: its messages keep their order on a cluster
    expect(routingKey(['PUBLISH', 'ev:o:1', 'paid'])).toBe('ev:o:1')
    expect(routingKey(['ZADD', 'feed:{7}', '1', 'x'])).toBe('feed:{7}')
  })
})

/** What a client call resolves to, or the error it throws (name + message), for comparison. */
async function outcome(op: () => Promise<unknown>): Promise<unknown> {
  try {
    return { ok: await op() }
  } catch (e) {
    return { name: (e as Error).name, message: (e as Error).message }
  }
}

describe.skipIf(!inject('services').redis)('REST and TCP transports answer alike', () => {
  const prefix = uniquePrefix('transports')
  let gateway: UpstashGateway
  let direct: DirectRedis
  const tcp: TcpRedis[] = []
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'transports-token' })
    direct = await directRedis()
    for (const name of tcpTransportNames()) tcp.push(await openTcpRedis({ url: tcpRedisUrl(name) }))
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gateway.close()
    for (const name of tcpTransportNames()) await deleteEverywhere(name, prefix)
    await Promise.all(tcp.map((t) => t.close()))
  })

  /**
   * Runs `script` on REST (the SDK's fetch client, and Node's undici pool) and every TCP transport,
   * each in a key namespace of its own.
   */
  async function onEach(script: (redis: Redis, p: string) => Promise<unknown>) {
    const rest = createUpstashRedis({ url: gateway.url, token: gateway.token })
    const pooled = createNodeRestRedis({ url: gateway.url, token: gateway.token })
    const results = [await script(rest, `${prefix}rest:`)]
    results.push(await script(pooled.redis, `${prefix}rest1:`))
    await pooled.close()
    for (const [i, t] of tcp.entries()) results.push(await script(t.redis, `${prefix}tcp${i}:`))
    return results
  }

  it('same replies, and the same error text, for commands, pipelines and transactions', async () => {
    const results = await onEach(async (redis, p) => {
      const k = `${p}{k}`
      return [
        await outcome(() => redis.set(k, 'text')),
        await outcome(() => redis.incr(k)), // ERR not an integer
        await outcome(() => redis.lpush(k, 'x')), // WRONGTYPE
        await outcome(() => redis.get(k)),
        await outcome(() => redis.set(`${k}:n`, '12345678901234567890')),
        await outcome(() => redis.get(`${k}:n`)), // kept as text (would lose digits)
        await outcome(() => redis.eval('return {1, "two", {3}}', [k], [])),
        await outcome(() => redis.eval('return redis.error_reply("MY failure")', [k], [])),
        await outcome(() =>
          redis.pipeline().set(`${k}:a`, 1).incr(k).get(`${k}:a`).exec({ keepErrors: true })
        ),
        await outcome(() => redis.pipeline().incr(`${k}:b`).incr(k).exec()),
        await outcome(() => redis.multi().incr(`${k}:c`).incr(`${k}:c`).exec()),
        await outcome(() => redis.multi().incr(`${k}:c`).lpush(k, 'x').exec()), // runtime error
        await outcome(() => redis.multi().set(`${k}:d`, 1).get(`${k}:d`).exec()),
        await outcome(() => redis.eval('return ARGV[1]', [k], ['ünïcödé ✓'])),
      ]
    })
    const normalize = (r: unknown) => JSON.stringify(r).replaceAll(/(rest\d?|tcp\d):/g, 'NS:')
    for (const other of results.slice(1)) expect(normalize(other)).toBe(normalize(results[0]))
    // Spot checks of the shared shape (so "equal" is not "equally broken").
    const [rest] = results as unknown[][]
    expect(rest![1]).toMatchObject({
      name: 'UpstashError',
      message: expect.stringMatching(/^Command failed: ERR value is not an integer/),
    })
    expect(rest![2]).toMatchObject({
      message: expect.stringMatching(/^Command failed: WRONGTYPE /),
    })
    expect(rest![5]).toEqual({ ok: '12345678901234567890' })
    expect(rest![9]).toMatchObject({
      message: expect.stringMatching(/^Command 2 \[ incr \] failed: ERR/),
    })
    expect(rest![10]).toEqual({ ok: [1, 2] })
    expect(rest![13]).toEqual({ ok: 'ünïcödé ✓' })
  })

  it('an unreachable Redis over TCP is a DependencyUnavailable (503), not a crash or a hang', async () => {
    const dead = await openTcpRedis({ url: `redis://127.0.0.1:${await freePort()}` })
    try {
      const ids = new UpstashIds(dead.redis, new ManualClock(), prefix)
      await expect(ids.next('x')).rejects.toBeInstanceOf(DependencyUnavailable)
      await expect(dead.ping()).rejects.toThrow()
    } finally {
      await dead.close()
    }
  })
})
