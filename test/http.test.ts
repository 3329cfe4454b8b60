import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createLogger } from '../src/app/log.ts'
import { type NodeServer, startNodeServer } from '../src/app/node.ts'
import { freePort } from './harness/net.ts'
import { REDIS_URL } from './harness/services.ts'
import { type QStashServer, signQStashJwt, startQStashServer } from './stack/qstash-server.ts'
import { startUpstashGateway, type UpstashGateway } from './stack/upstash-gateway.ts'

const quiet = { APP_ENV: 'test', LOG_LEVEL: 'silent', DATA_DIR: ':memory:' }

describe('HTTP surface on embedded defaults (no external service)', () => {
  let server: NodeServer
  const logs: string[] = []
  beforeAll(async () => {
    server = await startNodeServer({
      port: 0,
      env: { ...quiet, LOG_LEVEL: 'info' },
      logSink: (line) => logs.push(line),
    })
  })
  afterAll(() => server.close())

  it('GET /health reports every dependency up, with its adapter', async () => {
    const res = await fetch(`${server.url}/health`)
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.status).toBe('ok')
    expect(body.checks).toMatchObject({
      redis: { status: 'up', adapter: 'memory' },
      queue: { status: 'up', adapter: 'memory' },
      database: { status: 'up', adapter: 'pglite' },
    })
  })

  it('serves a complete OpenAPI 3.1 document and the interactive docs page', async () => {
    const doc = await (await fetch(`${server.url}/openapi.json`)).json()
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/health', '/internal/queue/{topic}', '/internal/queue/{topic}/dead'])
    )
    expect(doc.components.schemas.Problem).toBeDefined()
    const docs = await fetch(`${server.url}/docs`)
    expect(docs.status).toBe(200)
    expect(docs.headers.get('content-type')).toMatch(/text\/html/)
    expect(await docs.text()).toContain('/openapi.json')
  })

  it('puts a request id on every response and echoes a caller-supplied one', async () => {
    for (const path of ['/health', '/openapi.json', '/nope']) {
      const res = await fetch(`${server.url}${path}`)
      expect(res.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    }
    const res = await fetch(`${server.url}/health`, {
      headers: { 'x-request-id': 'trace-abc-123' },
    })
    expect(res.headers.get('x-request-id')).toBe('trace-abc-123')
  })

  it('answers unknown routes with a 404 problem+json carrying the request id', async () => {
    const res = await fetch(`${server.url}/nope`, { method: 'POST' })
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const body = await res.json()
    expect(body).toMatchObject({
      status: 404,
      code: 'ROUTE_NOT_FOUND',
      type: 'urn:problem:ROUTE_NOT_FOUND',
    })
    expect(body.requestId).toBe(res.headers.get('x-request-id'))
  })

  it('names the offending field in a 400 problem', async () => {
    const res = await fetch(`${server.url}/internal/queue/Bad_Topic!`, {
      method: 'POST',
      body: '{}',
    })
    expect(res.status).toBe(400)
    const body = await res.json()
    expect(body.code).toBe('VALIDATION_FAILED')
    expect(body.errors.map((e: { path: string }) => e.path)).toEqual(['param.topic'])
  })

  it('refuses queue deliveries when no queue can sign them (memory mode)', async () => {
    const res = await fetch(`${server.url}/internal/queue/orders`, { method: 'POST', body: '{}' })
    expect(res.status).toBe(401)
    expect((await res.json()).code).toBe('INVALID_SIGNATURE')
  })

  it('writes one structured JSON log line per request, without headers or bodies', async () => {
    const res = await fetch(`${server.url}/health`, {
      headers: { authorization: 'Bearer secret-token-xyz' },
    })
    const id = res.headers.get('x-request-id')
    const line = logs.map((l) => JSON.parse(l)).find((l) => l.requestId === id)
    expect(line).toMatchObject({
      level: 'info',
      msg: 'request',
      method: 'GET',
      path: '/health',
      status: 200,
    })
    expect(typeof line.ms).toBe('number')
    expect(logs.join('\n')).not.toContain('secret-token-xyz')
  })

  it('the logger tells which levels it writes (the access log skips its work when info is off)', () => {
    const lines: string[] = []
    const log = createLogger('warn', (l) => lines.push(l))
    expect(log.enabled?.('info')).toBe(false)
    expect(log.enabled?.('debug')).toBe(false)
    expect(log.enabled?.('warn')).toBe(true)
    expect(log.enabled?.('error')).toBe(true)
    expect(createLogger('silent').enabled?.('error')).toBe(false)
    expect(createLogger('debug').enabled?.('debug')).toBe(true)
    log.info('dropped')
    log.warn('kept')
    expect(lines.map((l) => JSON.parse(l).msg)).toEqual(['kept'])
  })
})

describe('queue consumer endpoint signature checks (QStash stand-in keys)', () => {
  let qstash: QStashServer
  let server: NodeServer
  const handled: unknown[] = []
  let publicUrl: string
  beforeAll(async () => {
    qstash = await startQStashServer()
    const port = await freePort()
    publicUrl = `http://127.0.0.1:${port}`
    server = await startNodeServer({
      port,
      env: {
        ...quiet,
        PUBLIC_URL: publicUrl,
        QSTASH_URL: qstash.url,
        QSTASH_TOKEN: qstash.token,
        QSTASH_CURRENT_SIGNING_KEY: qstash.currentSigningKey,
        QSTASH_NEXT_SIGNING_KEY: qstash.nextSigningKey,
        SESSION_COOKIE: 'on',
      },
      topics: () => ({
        'test.sig': {
          handle: async (d) => void handled.push(d.body),
          deadLetter: async () => {},
        },
      }),
    })
  })
  afterAll(async () => {
    await server.close()
    await qstash.close()
  })

  const url = () => `${publicUrl}/internal/queue/test.sig`
  const post = (body: string, signature?: string) =>
    fetch(url(), {
      method: 'POST',
      body,
      headers: {
        'content-type': 'application/json',
        ...(signature ? { 'upstash-signature': signature } : {}),
      },
    })

  it('accepts a delivery signed with the current key', async () => {
    const body = JSON.stringify({ n: 1 })
    const res = await post(
      body,
      await signQStashJwt(qstash.currentSigningKey, { sub: url(), body })
    )
    expect(res.status).toBe(200)
    expect(handled).toContainEqual({ n: 1 })
  })

  it('accepts a delivery signed with the next key (key rotation)', async () => {
    const body = JSON.stringify({ n: 2 })
    const res = await post(body, await signQStashJwt(qstash.nextSigningKey, { sub: url(), body }))
    expect(res.status).toBe(200)
    expect(handled).toContainEqual({ n: 2 })
  })

  it.each([
    ['missing', async () => undefined],
    [
      'forged (unknown key)',
      async (body: string) => signQStashJwt('sig_forged', { sub: url(), body }),
    ],
    [
      'expired',
      async (body: string) =>
        signQStashJwt(qstash.currentSigningKey, {
          sub: url(),
          body,
          nowMs: Date.now() - 3_600_000,
        }),
    ],
    [
      'for another body (tampered)',
      async () => signQStashJwt(qstash.currentSigningKey, { sub: url(), body: '{"n":0}' }),
    ],
    [
      'for another URL',
      async (body: string) =>
        signQStashJwt(qstash.currentSigningKey, { sub: `${publicUrl}/internal/queue/other`, body }),
    ],
    [
      'alg none',
      async (body: string) => {
        const [, claims] = (
          await signQStashJwt(qstash.currentSigningKey, { sub: url(), body })
        ).split('.')
        return `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${claims}.`
      },
    ],
    ['garbage', async () => 'not-a-jwt'],
    ['garbage with dots', async () => 'a.b.c'],
    ['non-base64 segments', async () => '%%.$$.##'],
  ])(
    'rejects a %s signature with 401 problem+json and does not run the handler',
    async (_, sign) => {
      const body = JSON.stringify({ n: 99 })
      const before = handled.length
      const res = await post(body, await sign(body))
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).code).toBe('INVALID_SIGNATURE')
      expect(handled.length).toBe(before)
    }
  )

  it('authenticates a delivery by its signature alone: no session lookup, no CSRF check', async () => {
    // Mounted before the session middleware: a cookie (cookie mode is on here) and a cross-site
    // Origin on a text/plain POST would otherwise be refused as CSRF (403) before the signature.
    const body = JSON.stringify({ n: 3 })
    const res = await fetch(url(), {
      method: 'POST',
      body,
      headers: {
        'content-type': 'text/plain',
        cookie: '__Host-session=not-a-session',
        origin: 'https://elsewhere.example',
        'upstash-signature': await signQStashJwt(qstash.currentSigningKey, { sub: url(), body }),
      },
    })
    expect(res.status).toBe(200)
    expect(handled).toContainEqual({ n: 3 })
  })

  it('answers 489 non-retryable for a signed body that is not JSON', async () => {
    const body = 'not json'
    const res = await post(
      body,
      await signQStashJwt(qstash.currentSigningKey, { sub: url(), body })
    )
    expect(res.status).toBe(489)
    expect(res.headers.get('upstash-nonretryable-error')).toBe('true')
  })
})

describe.skipIf(!inject('services').redis)('/health when a dependency goes down', () => {
  let gateway: UpstashGateway
  let server: NodeServer
  beforeAll(async () => {
    gateway = await startUpstashGateway({ redisUrl: REDIS_URL, token: 'health-token' })
    server = await startNodeServer({
      port: 0,
      env: {
        ...quiet,
        UPSTASH_REDIS_REST_URL: gateway.url,
        UPSTASH_REDIS_REST_TOKEN: gateway.token,
      },
    })
  })
  afterAll(async () => {
    await server.close()
    await gateway.close()
  })

  it('answers 503 problem+json naming the dependency, and recovers by itself', async () => {
    const up = await fetch(`${server.url}/health`)
    expect(up.status).toBe(200)
    expect((await up.json()).checks.redis).toMatchObject({ status: 'up', adapter: 'upstash' })

    await gateway.suspend()
    const down = await fetch(`${server.url}/health`)
    expect(down.status).toBe(503)
    expect(down.headers.get('content-type')).toBe('application/problem+json')
    const body = await down.json()
    expect(body.code).toBe('DEPENDENCY_UNAVAILABLE')
    expect(body.checks.redis.status).toBe('down')
    expect(body.checks.database.status).toBe('up')

    await gateway.resume()
    const again = await fetch(`${server.url}/health`)
    expect(again.status).toBe(200)
  })
})
