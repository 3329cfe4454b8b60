import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { startNodeServer } from '../src/app/node.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { startSmsStandIn } from './stack/sms-provider.ts'

const MIN = 60_000
let seq = 0
/** A fresh valid mainland mobile number per call (distinct across files and runs). */
function phone(): string {
  return `139${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`
}

async function sendCode(app: TestApp, p: string) {
  const res = await app.fetch('/auth/code', { method: 'POST', json: { phone: p } })
  return { res, body: await res.json() }
}

async function loginWith(app: TestApp, p: string) {
  const { body } = await sendCode(app, p)
  const res = await app.fetch('/auth/login', {
    method: 'POST',
    json: { phone: p, code: body.devCode },
  })
  expect(res.status).toBe(200)
  return res.json()
}

describe.each(appKinds(inject('services')))('auth and sessions over HTTP [%s]', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind, { env: { SESSION_MAX_RENEWALS: '2' } })
  })
  afterAll(() => app?.close())

  it('logs in with a phone code: creates the user once, then reuses it', async () => {
    const p = phone()
    const { res, body } = await sendCode(app, p)
    expect(res.status).toBe(202)
    expect(body).toMatchObject({ phone: `+86${p}`, expiresInSeconds: 120 })
    expect(body.devCode).toMatch(/^\d{6}$/)
    const login = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: body.devCode },
    })
    expect(login.status).toBe(200)
    const first = await login.json()
    expect(first.token).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(first.created).toBe(true)
    expect(first.user).toMatchObject({
      phone: `+86${p}`,
      nickname: expect.stringMatching(/^user_/),
    })
    expect(first.user.id).toMatch(/^\d+$/)

    const me = await app.fetch('/users/me', { token: first.token })
    expect(me.status).toBe(200)
    expect((await me.json()).id).toBe(first.user.id)
    // The original clients send the bare token.
    const bare = await app.fetch('/users/me', { headers: { authorization: first.token } })
    expect(bare.status).toBe(200)

    await app.clock.advance(MIN) // the send throttle allows one code a minute
    const again = await loginWith(app, p)
    expect(again.created).toBe(false)
    expect(again.user.id).toBe(first.user.id)
    expect(again.token).not.toBe(first.token)

    const profile = await app.fetch(`/users/${first.user.id}`)
    expect(await profile.json()).toEqual({
      id: first.user.id,
      nickname: first.user.nickname,
      icon: '',
    })
    expect((await app.fetch('/users/999999999')).status).toBe(404)
  })

  it('rejects a reused code', async () => {
    const p = phone()
    const { body } = await sendCode(app, p)
    const ok = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: body.devCode },
    })
    expect(ok.status).toBe(200)
    const reuse = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: body.devCode },
    })
    expect(reuse.status).toBe(401)
    expect((await reuse.json()).code).toBe('INVALID_CODE')
  })

  it('rejects an expired code', async () => {
    const p = phone()
    const { body } = await sendCode(app, p)
    await app.clock.advance(2 * MIN)
    const res = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: body.devCode },
    })
    expect(res.status).toBe(401)
  })

  it('locks login after 5 wrong codes, for 15 minutes', async () => {
    const p = phone()
    const { body } = await sendCode(app, p)
    const wrong = body.devCode === '000000' ? '111111' : '000000'
    const left: number[] = []
    for (let i = 0; i < 4; i++) {
      const res = await app.fetch('/auth/login', {
        method: 'POST',
        json: { phone: p, code: wrong },
      })
      expect(res.status).toBe(401)
      left.push((await res.json()).attemptsLeft)
    }
    expect(left).toEqual([4, 3, 2, 1])
    const fifth = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: wrong },
    })
    expect(fifth.status).toBe(429)
    expect(fifth.headers.get('retry-after')).toBe('900')
    expect((await fifth.json()).code).toBe('LOGIN_LOCKED')
    const right = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: p, code: body.devCode },
    })
    expect(right.status).toBe(429)
    await app.clock.advance(15 * MIN)
    await loginWith(app, p)
  })

  it('logs out: the token stops working at once', async () => {
    const { token } = await loginWith(app, phone())
    expect((await app.fetch('/auth/logout', { method: 'POST', token })).status).toBe(204)
    const after = await app.fetch('/users/me', { token })
    expect(after.status).toBe(401)
    expect((await app.fetch('/auth/logout', { method: 'POST', token })).status).toBe(401)
  })

  it('answers 401 problem+json on protected routes without, or with a bogus, token', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: 'Bearer nope' },
      { authorization: 'Bearer AAAAAAAAAAAAAAAAAAAAAA' },
    ]
    for (const headers of attempts) {
      const res = await app.fetch('/users/me', { headers })
      expect(res.status).toBe(401)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
      expect((await res.json()).code).toBe('UNAUTHORIZED')
    }
  })

  it('renews only past half the TTL, at most SESSION_MAX_RENEWALS times, then runs out', async () => {
    const { token } = await loginWith(app, phone())
    const deps = await app.deps()
    const t0 = app.clock.now()
    const expiry = async () => (await deps.sessions.get(token))?.expiresAt
    expect(await expiry()).toBe(t0 + 30 * MIN)

    await app.clock.advance(14 * MIN)
    expect((await app.fetch('/users/me', { token })).status).toBe(200)
    expect(await expiry()).toBe(t0 + 30 * MIN) // not renewed before half the TTL

    await app.clock.advance(1 * MIN) // t0 + 15m: due
    expect((await app.fetch('/users/me', { token })).status).toBe(200)
    expect(await expiry()).toBe(t0 + 45 * MIN)

    await app.clock.advance(15 * MIN) // t0 + 30m: due again → 2nd (last) renewal
    expect((await app.fetch('/users/me', { token })).status).toBe(200)
    expect(await expiry()).toBe(t0 + 60 * MIN)

    await app.clock.advance(15 * MIN) // t0 + 45m: due but capped
    expect((await app.fetch('/users/me', { token })).status).toBe(200)
    expect(await expiry()).toBe(t0 + 60 * MIN)

    await app.clock.advance(15 * MIN) // t0 + 60m: gone, log in again
    expect((await app.fetch('/users/me', { token })).status).toBe(401)
  })

  it('throttles code sends per phone with exact Retry-After and the refusing tier', async () => {
    const p = phone()
    const t0 = app.clock.now()
    expect((await sendCode(app, p)).res.status).toBe(202)
    await app.clock.set(t0 + 10_000)
    const second = await sendCode(app, p)
    expect(second.res.status).toBe(429)
    expect(second.res.headers.get('retry-after')).toBe('50')
    expect(second.body).toMatchObject({ code: 'RATE_LIMITED', tier: '1 per 60s' })
    // One a minute is fine until the 20-minute tier (10 sends) is full.
    for (let minute = 1; minute < 10; minute++) {
      await app.clock.set(t0 + minute * MIN)
      expect((await sendCode(app, p)).res.status).toBe(202)
    }
    await app.clock.set(t0 + 10 * MIN)
    const eleventh = await sendCode(app, p)
    expect(eleventh.res.status).toBe(429)
    expect(eleventh.res.headers.get('retry-after')).toBe('600')
    expect(eleventh.body.tier).toBe('10 per 1200s')
    await app.clock.set(t0 + 20 * MIN)
    expect((await sendCode(app, p)).res.status).toBe(202)
  })

  it('serves 100 parallel logins of distinct phones', async () => {
    const phones = Array.from({ length: 100 }, () => phone())
    const results = await Promise.all(phones.map((p) => loginWith(app, p)))
    expect(new Set(results.map((r) => r.user.id)).size).toBe(100)
    expect(new Set(results.map((r) => r.token)).size).toBe(100)
    expect(results.every((r) => r.created)).toBe(true)
  })

  it('names the offending field on bad input', async () => {
    const bad = await app.fetch('/auth/code', { method: 'POST', json: { phone: '12345' } })
    expect(bad.status).toBe(400)
    expect((await bad.json()).errors.map((e: { path: string }) => e.path)).toEqual(['json.phone'])
    const code = await app.fetch('/auth/login', {
      method: 'POST',
      json: { phone: phone(), code: '12ab' },
    })
    expect((await code.json()).errors.map((e: { path: string }) => e.path)).toEqual(['json.code'])
    const malformed = await app.fetch('/auth/code', {
      method: 'POST',
      body: '{"phone":',
      headers: { 'content-type': 'application/json' },
    })
    expect(malformed.status).toBe(400)
    expect((await malformed.json()).code).toBe('MALFORMED_JSON')
  })
})

describe('auth knobs and production behaviour', () => {
  it('AUTH_CODE_SEND_LIMITS=off disables the send throttle', async () => {
    const app = await startTestApp('memory', { env: { AUTH_CODE_SEND_LIMITS: 'off' } })
    const p = phone()
    for (let i = 0; i < 12; i++) expect((await sendCode(app, p)).res.status).toBe(202)
    await app.close()
  })

  it('in production never returns or logs the code', async () => {
    const sms = await startSmsStandIn()
    const logs: string[] = []
    const server = await startNodeServer({
      port: 0,
      env: {
        APP_ENV: 'production',
        LOG_LEVEL: 'debug',
        DATA_DIR: ':memory:',
        ...sms.env('webhook'),
      },
      logSink: (line) => logs.push(line),
    })
    const res = await fetch(`${server.url}/auth/code`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: '13812345678' }),
    })
    expect(res.status).toBe(202)
    const body = await res.json()
    expect(body.devCode).toBeUndefined()
    const code = sms.codeFor('+8613812345678')!
    expect(code).toMatch(/^\d{6}$/)
    expect(logs.join('\n')).not.toContain(code)
    await server.close()
    await sms.close()
  })
})

describe.skipIf(!inject('services').redis || !inject('services').postgres)(
  'session cost and outages on the real stack',
  () => {
    let app: TestApp
    beforeAll(async () => {
      app = await startTestApp('real')
    })
    afterAll(() => app?.close())

    it('a request that does not renew costs one Redis round trip; a renewing one, two', async () => {
      // Warm-up: the first use of a script after a Redis restart costs an extra EVAL (NOSCRIPT).
      const warm = await loginWith(app, phone())
      await app.clock.advance(15 * MIN)
      await app.fetch('/users/me', { token: warm.token })
      const { token } = await loginWith(app, phone())
      const gateway = app.stack!.gateway
      gateway.resetStats()
      expect((await app.fetch('/users/me', { token })).status).toBe(200)
      expect(gateway.stats().requests).toBe(1)
      await app.clock.advance(15 * MIN)
      gateway.resetStats()
      expect((await app.fetch('/users/me', { token })).status).toBe(200)
      expect(gateway.stats().requests).toBe(2)
    })

    it('with Redis down: protected routes answer 503 (not 401), public ones still work', async () => {
      const { token, user } = await loginWith(app, phone())
      await app.stack!.gateway.suspend()
      try {
        const me = await app.fetch('/users/me', { token })
        expect(me.status).toBe(503)
        expect((await me.json()).code).toBe('DEPENDENCY_UNAVAILABLE')
        const code = await sendCode(app, phone())
        expect(code.res.status).toBe(503)
        expect((await app.fetch(`/users/${user.id}`, { token })).status).toBe(200)
      } finally {
        await app.stack!.gateway.resume()
      }
      expect((await app.fetch('/users/me', { token })).status).toBe(200)
    })
  }
)
