import { Hono } from 'hono'
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest'
import { clientAddress, clientKey, rememberSocketAddress } from '../src/app/http/client-ip.ts'
import type { AppEnv } from '../src/app/http/env.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'

const services = inject('services')

let n = 0
/** A phone unique to this process and run. */
const phone = () =>
  `+86150${String(process.pid % 1000).padStart(3, '0')}${String((Date.now() + n++) % 1e5).padStart(5, '0')}`

type Json = Record<string, unknown>
const DAY = 86_400_000

describe.each(appKinds(services))('login abuse protections (%s)', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: {
        TRUST_PROXY: '1',
        AUTH_CODE_SEND_CLIENT_LIMITS: '3/1h',
        AUTH_CODE_SEND_GLOBAL_LIMITS: '5/1h',
        AUTH_LOGIN_CLIENT_FAILURES: '3/1h',
        AUTH_LOGIN_GLOBAL_FAILURES: '10/1h',
      },
    })
  })
  afterAll(() => app?.close())
  // Every test starts with fresh windows.
  beforeEach(() => app.clock.advance(DAY))

  // One proxy of ours appends the address it saw; whatever the client put before it is ignored.
  const from = (ip: string) => ({ 'x-forwarded-for': `6.6.6.6, ${ip}` })
  const sendCode = (p: string, ip: string) =>
    app.fetch('/auth/code', { method: 'POST', json: { phone: p }, headers: from(ip) })
  const login = (p: string, code: string, ip: string) =>
    app.fetch('/auth/login', { method: 'POST', json: { phone: p, code }, headers: from(ip) })
  const expect429 = async (res: Response, scope: string) => {
    expect(res.status).toBe(429)
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0)
    expect((await res.json()) as Json).toMatchObject({ code: 'RATE_LIMITED', scope })
  }

  it('nobody can lock out a phone that has no code issued', async () => {
    const p = phone()
    for (let i = 0; i < 8; i++) {
      const res = await login(p, '000000', `192.0.2.${i}`)
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ code: 'INVALID_CODE', attemptsLeft: 5 })
    }
    await app.clock.advance(DAY)
    const sent = (await (await sendCode(p, '192.0.2.200')).json()) as { devCode: string }
    expect((await login(p, sent.devCode, '192.0.2.200')).status).toBe(200)
  })

  it('limits code sends per client and service-wide', async () => {
    for (let i = 0; i < 3; i++) expect((await sendCode(phone(), '198.51.100.7')).status).toBe(202)
    await expect429(await sendCode(phone(), '198.51.100.7'), 'client')
    // A phone refused by its own throttle does not spend the client's or the service's budget.
    const p = phone()
    expect((await sendCode(p, '198.51.100.8')).status).toBe(202)
    expect((await sendCode(p, '198.51.100.8')).status).toBe(429)
    expect((await sendCode(phone(), '198.51.100.8')).status).toBe(202)
    // 5 sent in all: the service-wide budget refuses every client now.
    await expect429(await sendCode(phone(), '203.0.113.9'), 'global')
  })

  it('limits failed logins per client and service-wide, before the code is even checked', async () => {
    const p = phone()
    const { devCode } = (await (await sendCode(p, '192.0.2.1')).json()) as { devCode: string }
    for (let i = 0; i < 3; i++)
      expect((await login(phone(), '000000', '192.0.2.66')).status).toBe(401)
    // Over budget: refused even with the right code, which stays unused.
    await expect429(await login(p, devCode, '192.0.2.66'), 'client')
    for (let i = 0; i < 7; i++) {
      expect((await login(phone(), '000000', `192.0.2.${100 + i}`)).status).toBe(401)
    }
    await expect429(await login(p, devCode, '192.0.2.88'), 'global')
    // The windows slide: an hour later the same client logs in.
    await app.clock.advance(3_600_000)
    const again = (await (await sendCode(p, '192.0.2.66')).json()) as { devCode: string }
    expect((await login(p, again.devCode, '192.0.2.66')).status).toBe(200)
  })
})

describe('client address', () => {
  const serve = (hops: number) => {
    const app = new Hono<AppEnv>().get('/', (c) => c.text(clientAddress(c, hops)))
    return async (headers: Record<string, string>, socket?: string) => {
      const req = new Request('http://x/', { headers })
      if (socket) rememberSocketAddress(req, socket)
      return (await app.fetch(req)).text()
    }
  }

  it('Node: the socket address; X-Forwarded-For only with TRUST_PROXY, from the right', async () => {
    const xff = { 'x-forwarded-for': '6.6.6.6, 198.51.100.5, 10.0.0.2' }
    expect(await serve(0)(xff, '10.0.0.9')).toBe('10.0.0.9')
    expect(await serve(1)(xff, '10.0.0.9')).toBe('10.0.0.2')
    expect(await serve(2)(xff, '10.0.0.9')).toBe('198.51.100.5')
    expect(await serve(1)({}, '10.0.0.9')).toBe('10.0.0.9')
  })

  it('Workers: CF-Connecting-IP', async () => {
    expect(
      await serve(0)({ 'cf-connecting-ip': '203.0.113.4', 'x-forwarded-for': '1.1.1.1' })
    ).toBe('203.0.113.4')
    expect(await serve(0)({})).toBe('unknown')
  })

  it('limits IPv6 clients by their /64', () => {
    expect(clientKey('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8:1:2:bbbb:cccc:dddd:eeee')).toBe('2001:db8:1:2::/64')
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(clientKey('::ffff:192.0.2.1')).toBe('192.0.2.1')
    expect(clientKey('192.0.2.1')).toBe('192.0.2.1')
  })
})
