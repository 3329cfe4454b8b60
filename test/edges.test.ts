import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'

const services = inject('services')

/** Sends raw bytes and returns the raw answer (the connection is closed by the server). */
function raw(url: string, request: string): Promise<string> {
  const { hostname, port } = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), hostname, () => socket.end(request))
    let out = ''
    socket.on('data', (d) => (out += d.toString('utf8')))
    socket.on('close', () => resolve(out))
    socket.on('error', reject)
  })
}

describe.each(appKinds(services))('HTTP edges (%s)', (kind) => {
  let app: TestApp
  let plain: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: { CORS_ORIGINS: 'https://app.example, https://admin.example' },
    })
    plain = kind === 'memory' ? await startTestApp('memory') : app
  })
  afterAll(async () => {
    await app?.close()
    if (plain !== app) await plain?.close()
  })

  it('405 with Allow for a known path under another method (TRACE too); 404 for unknown paths', async () => {
    const trace = await raw(
      app.url,
      'TRACE /shops/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'
    )
    expect(trace).toMatch(/^HTTP\/1\.1 405 /)
    expect(trace).toMatch(/allow: GET, HEAD, OPTIONS, PUT/i)
    expect(trace).toContain('"code":"METHOD_NOT_ALLOWED"')
    for (const method of ['DELETE', 'PATCH']) {
      const res = await app.fetch('/shops/1', { method })
      expect(res.status).toBe(405)
      expect(res.headers.get('allow')).toBe('GET, HEAD, OPTIONS, PUT')
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(await res.json()).toMatchObject({ code: 'METHOD_NOT_ALLOWED', status: 405 })
    }
    expect((await app.fetch('/auth/login')).headers.get('allow')).toBe('OPTIONS, POST')
    expect((await app.fetch('/no/such/path', { method: 'DELETE' })).status).toBe(404)
  })

  it('OPTIONS answers 204 with Allow; a CORS preflight from an allowed origin gets the CORS headers', async () => {
    const options = await plain.fetch('/shops/1', { method: 'OPTIONS' })
    expect(options.status).toBe(204)
    expect(options.headers.get('allow')).toBe('GET, HEAD, OPTIONS, PUT')
    expect(options.headers.get('access-control-allow-origin')).toBeNull()
    const preflight = await app.fetch('/auth/login', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example')
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST')
    expect(preflight.headers.get('access-control-allow-headers')).toContain('content-type')
    const simple = await app.fetch('/shop-types', { headers: { origin: 'https://admin.example' } })
    expect(simple.headers.get('access-control-allow-origin')).toBe('https://admin.example')
    expect(simple.headers.get('access-control-expose-headers')).toContain('x-request-id')
    const foreign = await app.fetch('/shop-types', { headers: { origin: 'https://evil.example' } })
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull()
    // CORS is off by default.
    if (plain === app) return
    const off = await plain.fetch('/shop-types', { headers: { origin: 'https://app.example' } })
    expect(off.headers.get('access-control-allow-origin')).toBeNull()
  })

  it('sends standard security headers; the API gets a deny-all CSP, /docs does not', async () => {
    const api = await plain.fetch('/shop-types')
    expect(api.headers.get('x-content-type-options')).toBe('nosniff')
    expect(api.headers.get('x-frame-options')).toBe('SAMEORIGIN')
    expect(api.headers.get('referrer-policy')).toBe('no-referrer')
    expect(api.headers.get('strict-transport-security')).toContain('max-age=')
    expect(api.headers.get('content-security-policy')).toContain("default-src 'none'")
    const docs = await plain.fetch('/docs')
    expect(docs.status).toBe(200)
    expect(docs.headers.get('content-security-policy')).toBeNull()
    expect(docs.headers.get('x-content-type-options')).toBe('nosniff')
  })

  it('documents what routes answer: required nearby coordinates, shared 400/413/401', async () => {
    const doc = (await (await app.fetch('/openapi.json')).json()) as {
      paths: Record<
        string,
        Record<
          string,
          {
            parameters?: { name: string; required?: boolean }[]
            responses: Record<string, unknown>
          }
        >
      >
    }
    const nearby = doc.paths['/shops/nearby']!.get!
    for (const name of ['lng', 'lat', 'typeId']) {
      expect(nearby.parameters!.find((p) => p.name === name)!.required, name).toBe(true)
    }
    const res = await app.fetch('/shops/nearby?typeId=1')
    expect(res.status).toBe(400)
    const blogs = doc.paths['/blogs']!.post!.responses
    expect(Object.keys(blogs)).toEqual(expect.arrayContaining(['400', '401', '413']))
  })

  it('Node HTTP parser errors get a problem+json body (431 headers too large, unknown method)', async () => {
    const big = await raw(
      app.url,
      `GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`
    )
    expect(big).toMatch(/^HTTP\/1\.1 431 /)
    expect(big).toContain('application/problem+json')
    expect(big).toContain('"code":"HEADERS_TOO_LARGE"')
    const weird = await raw(app.url, 'BREW /shops HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(weird).toMatch(/^HTTP\/1\.1 400 /)
    expect(weird).toContain('"code":"BAD_REQUEST"')
  })

  it('an HTTP/1.1 POST without Content-Length or Transfer-Encoding reaches its route with an empty body', async () => {
    // Such requests are marked bodyless by the Node entry and skip the body limit's stream.
    const answer = await raw(
      app.url,
      'POST /auth/code HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n'
    )
    expect(answer).toMatch(/^HTTP\/1\.1 400 /)
    expect(answer).toContain('application/problem+json')
  })
})
