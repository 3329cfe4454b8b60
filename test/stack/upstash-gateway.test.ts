import { createHash, randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { connect, createConnection, createServer, type Server, type Socket } from 'node:net'
import { Ratelimit } from '@upstash/ratelimit'
import { Redis } from '@upstash/redis'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it, vi } from 'vitest'
import { type DirectRedis, deleteByPrefix, directRedis, uniquePrefix } from '../harness/redis.ts'
import { REDIS_URL } from '../harness/services.ts'
import { startUpstashGateway, stripKeyLocking, type UpstashGateway } from './upstash-gateway.ts'

const { redis: redisAvailable } = inject('services')
const sha1 = (text: string) => createHash('sha1').update(text).digest('hex')
const WRONGTYPE = 'WRONGTYPE Operation against a key holding the wrong kind of value'

describe('stripKeyLocking', () => {
  it('removes only the allow-key-locking flag and keeps line numbers', () => {
    expect(stripKeyLocking('#!lua flags=allow-key-locking\nreturn 1')).toBe('\nreturn 1')
    expect(stripKeyLocking('#!lua flags=no-writes,allow-key-locking\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1'
    )
    expect(stripKeyLocking('#!lua flags=allow-key-locking')).toBe('')
    expect(stripKeyLocking('#!lua flags=no-writes\nreturn 1')).toBe(
      '#!lua flags=no-writes\nreturn 1'
    )
    expect(stripKeyLocking('return 1 -- allow-key-locking')).toBe('return 1 -- allow-key-locking')
  })
})

describe.skipIf(!redisAvailable)('Upstash gateway over real Redis', () => {
  const prefix = uniquePrefix('gw')
  const token = `gw-token-${randomUUID()}`
  let gw: UpstashGateway
  let direct: DirectRedis
  let redis: Redis
  let key: (name: string) => string

  beforeAll(async () => {
    gw = await startUpstashGateway({ redisUrl: REDIS_URL, token })
    direct = await directRedis()
  })
  afterAll(async () => {
    await deleteByPrefix(direct, prefix)
    await direct.quit()
    await gw.close()
  })
  beforeEach(() => {
    // A fresh default client (auto-pipelining and base64 on) and key namespace per test.
    redis = new Redis({ url: gw.url, token: gw.token })
    const testPrefix = `${prefix}${randomUUID().slice(0, 8)}:`
    key = (name) => `${testPrefix}${name}`
    gw.resetStats()
  })

  /** A raw REST call, to check the wire format itself. */
  async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
    const res = await fetch(`${gw.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
    return { status: res.status, type: res.headers.get('content-type'), body: await res.json() }
  }

  it('listens on 127.0.0.1 with an ephemeral port', () => {
    expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`)
    expect(gw.port).toBeGreaterThan(0)
    expect(gw.token).toBe(token)
  })

  it('set/get round-trips unicode JSON', async () => {
    const value = { name: 'Grüße ü😀 中文', n: 42, nested: [1, 'two'] }
    expect(await redis.set(key('json'), value)).toBe('OK')
    expect(await redis.get(key('json'))).toEqual(value)
    expect(await direct.get(key('json'))).toBe(JSON.stringify(value))
  })

  it('ping, incr and mget (including a stored "OK")', async () => {
    expect(await redis.ping()).toBe('PONG')
    expect(await redis.incr(key('n'))).toBe(1)
    expect(await redis.incr(key('n'))).toBe(2)
    await direct.set(key('ok'), 'OK')
    await direct.set(key('s'), 'hello')
    expect(await redis.mget(key('ok'), key('s'), key('missing'))).toEqual(['OK', 'hello', null])
  })

  it('hset + hgetall returns an object', async () => {
    expect(await redis.hset(key('h'), { a: 1, b: 'x', c: 'ü' })).toBe(3)
    expect(await redis.hgetall(key('h'))).toEqual({ a: 1, b: 'x', c: 'ü' })
    expect(gw.stats().byPath['/']).toBe(1) // hgetall is never auto-pipelined
  })

  it('nested replies keep their shape and strings at every depth', async () => {
    const script = "return {ARGV[1], 7, {ARGV[2], {'x'}}, redis.status_reply('OK'), false}"
    expect(await redis.eval(script, [], ['hello', 'OK'])).toEqual([
      'hello',
      7,
      ['OK', ['x']],
      'OK',
      null,
    ])
  })

  it('auto-pipelines concurrent reads and writes', async () => {
    const [set, get, incr, missing] = await Promise.all([
      redis.set(key('a'), 1),
      redis.get(key('a')),
      redis.incr(key('a')),
      redis.get(key('nothing')),
    ])
    expect(set).toBe('OK')
    expect(incr).toBe(2)
    expect([1, 2]).toContain(get) // reads and writes travel in separate, concurrent pipelines
    expect(missing).toBeNull()
    expect(gw.stats()).toEqual({ requests: 2, commands: 4, byPath: { '/pipeline': 2 } })
  })

  it('explicit pipeline() including hgetall', async () => {
    const p = redis.pipeline()
    p.hset(key('h'), { f: 'v' })
    p.hgetall(key('h'))
    p.get(key('missing'))
    p.incr(key('c'))
    expect(await p.exec()).toEqual([1, { f: 'v' }, null, 1])
  })

  it('multi() is atomic and reports runtime errors per command', async () => {
    const m = redis.multi()
    m.set(key('s'), 'v')
    m.lpush(key('s'), 'x')
    m.get(key('s'))
    expect(await m.exec({ keepErrors: true })).toEqual([
      { result: 'OK', error: undefined },
      { result: undefined, error: WRONGTYPE },
      { result: 'v', error: undefined },
    ])
    const m2 = redis.multi()
    m2.set(key('s2'), 'w')
    m2.lpush(key('s2'), 'x')
    await expect(m2.exec()).rejects.toThrow(`Command 2 [ lpush ] failed: ${WRONGTYPE}`)
    expect(await direct.get(key('s2'))).toBe('w') // the other commands still ran
    expect(gw.stats().byPath['/multi-exec']).toBe(2)
  })

  it('multi-exec with a queue-time error is discarded as a whole (400)', async () => {
    const res = await post('/multi-exec', [
      ['set', key('q'), 'v'],
      ['nosuchcommand', 'x'],
    ])
    expect(res.status).toBe(400)
    expect(res.body.error).toMatch(/^ERR unknown command 'nosuchcommand'/)
    expect(await direct.exists(key('q'))).toBe(0)
    // The shared connection is left clean: the next transaction works.
    const ok = await post('/multi-exec', [
      ['set', key('q'), 'v'],
      ['get', key('q')],
    ])
    expect(ok.body).toEqual([{ result: 'OK' }, { result: 'v' }])
  })

  it('passes WRONGTYPE through (auto-pipeline and single command)', async () => {
    await redis.set(key('str'), 'x')
    await expect(redis.lpush(key('str'), 'y')).rejects.toThrow(`Command failed: ${WRONGTYPE}`)
    const single = new Redis({ url: gw.url, token, enableAutoPipelining: false })
    await expect(single.lpush(key('str'), 'y')).rejects.toThrow(`${WRONGTYPE}, command was:`)
  })

  it('rejects a wrong token', async () => {
    const wrong = new Redis({ url: gw.url, token: 'not-the-token', retry: false })
    await expect(wrong.get(key('x'))).rejects.toThrow('Unauthorized')
    expect(gw.stats().requests).toBe(0)
  })

  it('speaks the REST protocol: status codes, errors, argument conversion, encoding', async () => {
    const noAuth = await fetch(gw.url, { method: 'POST', body: '["ping"]' })
    expect(noAuth.status).toBe(401)
    expect(await noAuth.json()).toEqual({ error: 'Unauthorized' })
    const badToken = await post('/', ['ping'], { authorization: `Bearer ${token}x` })
    expect(badToken.status).toBe(401)
    const get = await fetch(gw.url, { headers: { authorization: `Bearer ${token}` } })
    expect(get.status).toBe(405)
    await get.body?.cancel()
    const missing = await post('/nope', ['ping'])
    expect([missing.status, typeof missing.body.error]).toEqual([404, 'string'])
    for (const [path, body] of [
      ['/', '{not json'],
      ['/', { a: 1 }],
      ['/', []],
      ['/pipeline', ['ping']],
      ['/multi-exec', [[]]],
    ] as const) {
      const res = await post(path, body)
      expect([res.status, typeof res.body.error]).toEqual([400, 'string'])
    }

    const ping = await post('/', ['ping'])
    expect(ping).toEqual({ status: 200, type: 'application/json', body: { result: 'PONG' } })
    const err = await post('/', ['lpush', key('str-missing-type'), 'x', 'y'])
    expect(err.status).toBe(200)
    await direct.set(key('str'), 'x')
    const wrongType = await post('/', ['lpush', key('str'), 'y'])
    expect(wrongType).toEqual({ status: 400, type: 'application/json', body: { error: WRONGTYPE } })
    const refused = await post('/', ['select', '1'])
    expect(refused.status).toBe(400)

    // numbers, booleans, null and objects become strings
    const pipe = await post('/pipeline', [
      ['set', key('num'), 1.5],
      ['set', key('bool'), true],
      ['set', key('null'), null],
      ['set', key('obj'), { a: [1] }],
      ['lpush', key('num'), 'x'],
      ['get', key('num')],
    ])
    expect(pipe.status).toBe(200)
    expect(pipe.body).toEqual([
      { result: 'OK' },
      { result: 'OK' },
      { result: 'OK' },
      { result: 'OK' },
      { error: WRONGTYPE },
      { result: '1.5' },
    ])
    expect(await direct.mGet([key('bool'), key('null'), key('obj')])).toEqual([
      'true',
      'null',
      '{"a":[1]}',
    ])

    // base64: every string at every depth, "OK" included; integers, nil and errors untouched
    const b64 = await post(
      '/pipeline',
      [
        ['set', key('e'), 'é'],
        ['eval', "return {ARGV[1], 3, {'OK'}}", '0', 'ü'],
        ['get', key('nothing')],
        ['lpush', key('num'), 'x'],
      ],
      { 'upstash-encoding': 'base64' }
    )
    const enc = (s: string) => Buffer.from(s).toString('base64')
    expect(b64.body).toEqual([
      { result: enc('OK') },
      { result: [enc('ü'), 3, [enc('OK')]] },
      { result: null },
      { error: WRONGTYPE },
    ])
  })

  it('is binary safe', async () => {
    const bytes = Buffer.from([0x00, 0xff, 0x41, 0x0a, 0xc3, 0x28, 0x80])
    await direct.set(key('bin'), bytes)
    const one = await post('/', ['get', key('bin')], { 'upstash-encoding': 'base64' })
    expect(Buffer.from(one.body.result, 'base64')).toEqual(bytes)
    const many = await post('/pipeline', [['mget', key('bin'), key('bin')]], {
      'upstash-encoding': 'base64',
    })
    const [a, b] = many.body[0].result as string[]
    expect([Buffer.from(a!, 'base64'), Buffer.from(b!, 'base64')]).toEqual([bytes, bytes])
    expect(await redis.strlen(key('bin'))).toBe(bytes.length)
  })

  it('createScript: first call NOSCRIPT then EVAL, later calls EVALSHA only', async () => {
    const source = `-- ${key('script')}\nreturn ARGV[1]`
    const script = redis.createScript<string>(source)
    expect(await direct.scriptExists(sha1(source))).toEqual([0])
    expect(await script.exec([], ['first'])).toBe('first')
    expect(gw.stats()).toEqual({ requests: 2, commands: 2, byPath: { '/pipeline': 2 } })
    expect(await direct.scriptExists(sha1(source))).toEqual([1])
    gw.resetStats()
    expect(await script.exec([], ['second'])).toBe('second')
    expect(gw.stats()).toEqual({ requests: 1, commands: 1, byPath: { '/pipeline': 1 } })
  })

  it('runs `#!lua flags=allow-key-locking` scripts via EVAL, EVALSHA, SCRIPT LOAD and _RO', async () => {
    const source = `#!lua flags=allow-key-locking\n-- ${key('lock')}\nreturn redis.call('INCR', KEYS[1])`
    const sha = sha1(source)
    // Stock Redis rejects the flag, so these only pass if the gateway rewrites it.
    await expect(direct.eval(source, { keys: [key('k')] })).rejects.toThrow(
      'Unexpected flag in script shebang: allow-key-locking'
    )
    // A sha nobody has loaded yet: Redis's own (uppercase) NOSCRIPT passes through.
    await expect(redis.evalsha(sha, [key('k')], [])).rejects.toThrow(
      'NOSCRIPT No matching script. Please use EVAL.'
    )
    expect(await redis.eval(source, [key('k')], [])).toBe(1)
    expect(await redis.evalsha(sha, [key('k')], [])).toBe(2)
    expect(await redis.scriptExists(sha)).toEqual([1])
    const m = redis.multi()
    m.evalsha(sha, [key('k')], [])
    m.get(key('k'))
    expect(await m.exec()).toEqual([3, 3])

    // SCRIPT LOAD answers sha1 of the original text, which EVALSHA then accepts.
    const loaded = `#!lua flags=allow-key-locking\n-- ${key('loaded')}\nreturn 'loaded'`
    expect(await redis.scriptLoad(loaded)).toBe(sha1(loaded))
    expect(await redis.evalsha(sha1(loaded), [], [])).toBe('loaded')

    // Read-only variants (EVAL_RO refuses a shebang without no-writes; the line is blanked).
    const ro = `#!lua flags=allow-key-locking\n-- ${key('ro')}\nreturn redis.call('GET', KEYS[1])`
    expect(await redis.evalRo(ro, [key('k')], [])).toBe(3)
    expect(await redis.evalshaRo(sha1(ro), [key('k')], [])).toBe(3)

    // Line numbers in Lua errors are unchanged by the rewrite.
    const bad = `#!lua flags=allow-key-locking\n-- ${key('bad')}\nreturn redis.call('NOPE')`
    await expect(redis.eval(bad, [], [])).rejects.toThrow('@user_script:3.')
  })

  it('re-runs a rewritten script by text when Redis does not hold it (EVALSHA and MULTI)', async () => {
    // The gateway learns both scripts, but the discarded transaction never runs them, so Redis
    // holds neither rewritten version (like after SCRIPT FLUSH or a Redis restart).
    const a = `#!lua flags=allow-key-locking\n-- ${key('a')}\nreturn 'a'`
    const b = `#!lua flags=allow-key-locking\n-- ${key('b')}\nreturn 'b'`
    const discarded = await post('/multi-exec', [['eval', a, 0], ['script', 'load', b], ['nope']])
    expect(discarded.status).toBe(400)
    expect(await direct.scriptExists([sha1(stripKeyLocking(a)), sha1(stripKeyLocking(b))])).toEqual(
      [0, 0]
    )
    const m = redis.multi()
    m.evalsha(sha1(a), [], [])
    expect(await m.exec()).toEqual(['a'])
    gw.resetStats()
    expect(await redis.evalsha(sha1(b), [], [])).toBe('b')
    expect(gw.stats()).toEqual({ requests: 1, commands: 1, byPath: { '/pipeline': 1 } })
    expect(await direct.scriptExists(sha1(stripKeyLocking(b)))).toEqual([1])
  })

  it('limits with @upstash/ratelimit (slidingWindow, fixedWindow, tokenBucket)', async () => {
    const limiters = {
      // Hour-long windows: the limiters use the wall clock, and a window boundary crossed between
      // two calls would reset the count (a 10 s window did, now and then).
      slidingWindow: Ratelimit.slidingWindow(3, '1 h'),
      fixedWindow: Ratelimit.fixedWindow(3, '1 h'),
      tokenBucket: Ratelimit.tokenBucket(1, '1 h', 3),
    }
    for (const [name, limiter] of Object.entries(limiters)) {
      // ephemeralCache off: every call must reach Redis (also after resetUsedTokens).
      const rl = new Ratelimit({ redis, limiter, prefix: key(name), ephemeralCache: false })
      const results = []
      for (let i = 0; i < 4; i++) results.push(await rl.limit('user'))
      expect(
        results.map((r) => r.success),
        name
      ).toEqual([true, true, true, false])
      expect(
        results.map((r) => r.reason),
        name
      ).toEqual([undefined, undefined, undefined, undefined])
      expect(
        results.map((r) => r.remaining),
        name
      ).toEqual([2, 1, 0, 0])
      expect((await rl.getRemaining('user')).remaining, name).toBe(0)
      const keys = await direct.keys(`${key(name)}:user*`)
      expect(keys.length, name).toBeGreaterThan(0)
      await rl.resetUsedTokens('user')
      expect(await direct.keys(`${key(name)}:user*`), name).toEqual([])
      const again = await rl.limit('user')
      expect([again.success, again.remaining], name).toEqual([true, 2])
    }
  })

  it('counts requests and commands exactly', async () => {
    const single = new Redis({ url: gw.url, token, enableAutoPipelining: false })
    await single.set(key('a'), 'x')
    await single.get(key('a'))
    await single.incr(key('b'))
    expect(gw.stats()).toEqual({ requests: 3, commands: 3, byPath: { '/': 3 } })
    gw.resetStats()
    expect(gw.stats()).toEqual({ requests: 0, commands: 0, byPath: {} })
    const p = single.pipeline()
    p.set(key('c'), 1)
    p.incr(key('c'))
    p.get(key('c'))
    p.del(key('c'))
    expect(await p.exec()).toEqual(['OK', 2, 2, 1])
    expect(gw.stats()).toEqual({ requests: 1, commands: 4, byPath: { '/pipeline': 1 } })
    const snapshot = gw.stats()
    snapshot.byPath['/pipeline'] = 99
    expect(gw.stats().byPath['/pipeline']).toBe(1)
  })

  it('suspend() cuts open connections and refuses new ones; resume() restores the port', async () => {
    const client = new Redis({ url: gw.url, token, retry: false })
    expect(await client.set(key('s'), 'v')).toBe('OK')
    // A request in flight (body still incomplete) when the outage starts gets its socket destroyed.
    const inFlight = connect(gw.port, '127.0.0.1')
    const closed = once(inFlight, 'close')
    inFlight.write(
      `POST /pipeline HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${token}\r\ncontent-length: 99\r\n\r\n[`
    )
    await vi.waitFor(() => expect(gw.stats().requests).toBe(2))
    await gw.suspend()
    await closed
    await expect(client.get(key('s'))).rejects.toThrow()
    await expect(fetch(gw.url, { method: 'POST', body: '[]' })).rejects.toThrow()
    await gw.resume()
    expect(await client.get(key('s'))).toBe('v')
    expect(gw.url).toBe(`http://127.0.0.1:${gw.port}`)
  }, 10_000)

  it('handles 200 concurrent INCRs', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => redis.incr(key('ctr'))))
    expect(results.toSorted((a, b) => a - b)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1))
    expect(await direct.get(key('ctr'))).toBe('200')
    expect(gw.stats().commands).toBe(200)
    expect(gw.stats().requests).toBeLessThan(200) // auto-pipelining batched them
  })
})

describe.skipIf(!redisAvailable)('Upstash gateway when Redis is unreachable', () => {
  let proxy: Server
  let proxyPort: number
  const sockets = new Set<Socket>()
  let gw: UpstashGateway

  /** A TCP pass-through to the real Redis that the test can cut and restore. */
  function listenProxy(port: number) {
    const target = new URL(REDIS_URL)
    proxy = createServer((socket) => {
      const upstream = createConnection(Number(target.port || 6379), target.hostname)
      for (const s of [socket, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => {})
      }
      socket.pipe(upstream).pipe(socket)
    })
    return new Promise<number>((resolve) => {
      proxy.listen(port, '127.0.0.1', () => resolve((proxy.address() as { port: number }).port))
    })
  }

  beforeAll(async () => {
    proxyPort = await listenProxy(0)
    gw = await startUpstashGateway({ redisUrl: `redis://127.0.0.1:${proxyPort}`, token: 't' })
  })
  afterAll(async () => {
    await gw.close()
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => proxy.close(resolve))
  })

  const ping = async () => {
    const res = await fetch(gw.url, {
      method: 'POST',
      headers: { authorization: 'Bearer t' },
      signal: AbortSignal.timeout(2000), // must fail fast, not queue until Redis is back
      body: '["ping"]',
    })
    return { status: res.status, body: await res.json() }
  }

  it('answers 500 while Redis is down and recovers when it is back', async () => {
    expect(await ping()).toEqual({ status: 200, body: { result: 'PONG' } })
    await new Promise((resolve) => {
      proxy.close(resolve)
      for (const s of sockets) s.destroy()
    })
    const down = await ping()
    expect(down.status).toBe(500)
    expect(down.body.error).toMatch(/^Redis unavailable/)
    expect((await ping()).status).toBe(500) // still alive, still failing cleanly
    await listenProxy(proxyPort)
    await vi.waitFor(async () => expect((await ping()).status).toBe(200), { timeout: 10_000 })
  })

  it('starts even when Redis cannot be reached at all', async () => {
    const dead = await startUpstashGateway({ redisUrl: 'redis://127.0.0.1:1', token: 't' })
    try {
      const res = await fetch(dead.url, {
        method: 'POST',
        headers: { authorization: 'Bearer t' },
        signal: AbortSignal.timeout(2000),
        body: '["ping"]',
      })
      expect(res.status).toBe(500)
      expect((await res.json()).error).toMatch(/^Redis unavailable/)
    } finally {
      await dead.close()
    }
  })
})
