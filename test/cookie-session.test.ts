import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { loadConfig } from '../src/app/config.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'

let seq = 0
function phone(): string {
  return `137${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`
}

const EVIL = 'https://evil.example'
const FRONTEND = 'https://shop.example'

async function login(app: TestApp) {
  const p = phone()
  const sent = await (await app.fetch('/auth/code', { method: 'POST', json: { phone: p } })).json()
  const res = await app.fetch('/auth/login', {
    method: 'POST',
    json: { phone: p, code: sent.devCode },
  })
  expect(res.status).toBe(200)
  return { res, body: await res.json() }
}

describe.each(appKinds(inject('services')))('browser sessions (SESSION_COOKIE=on) [%s]', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: { SESSION_COOKIE: 'on', CSRF_ALLOWED_ORIGINS: FRONTEND, SESSION_MAX_RENEWALS: '3' },
    })
  })
  afterAll(() => app?.close())

  /** A request carrying the session cookie (no bearer token). */
  const withCookie = (path: string, cookie: string, init: RequestInit = {}) =>
    app.fetch(path, { ...init, headers: { ...init.headers, cookie } })

  it('login sets a __Host- cookie (HttpOnly, Secure, SameSite=Lax, Path=/) accepted beside bearer tokens', async () => {
    const { res, body } = await login(app)
    const set = res.headers.get('set-cookie')!
    expect(set).toMatch(new RegExp(`^__Host-session=${body.token};`))
    const attrs = set.split(';').map((a) => a.trim().toLowerCase())
    expect(attrs).toEqual(
      expect.arrayContaining([
        'path=/',
        'httponly',
        'secure',
        'samesite=lax',
        `max-age=${4 * 1800}`,
      ])
    )
    expect(attrs.some((a) => a.startsWith('domain'))).toBe(false)
    const me = await withCookie('/users/me', `__Host-session=${body.token}`)
    expect(me.status).toBe(200)
    expect((await me.json()).id).toBe(body.user.id)
    // A cookie without the prefix is not ours.
    expect((await withCookie('/users/me', `session=${body.token}`)).status).toBe(401)
    expect((await app.fetch('/users/me', { token: body.token })).status).toBe(200)
  })

  it('refuses cookie-authenticated unsafe requests from other origins (403 CSRF_REJECTED)', async () => {
    const { body } = await login(app)
    const cookie = `__Host-session=${body.token}`
    const post = (path: string, headers: Record<string, string>) =>
      withCookie(path, cookie, { method: 'POST', headers })
    const attempts: Record<string, string>[] = [
      { origin: EVIL },
      { origin: EVIL, 'content-type': 'application/x-www-form-urlencoded' },
      { 'sec-fetch-site': 'cross-site' },
      {}, // neither Origin nor Sec-Fetch-Site: cannot be told apart from a forged form post
    ]
    for (const headers of attempts) {
      const res = await post('/auth/logout', headers)
      expect(res.status).toBe(403)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).code).toBe('CSRF_REJECTED')
    }
    // The flash-sale hot path authenticates itself; it is guarded the same way.
    expect((await post('/vouchers/999999999/seckill', { origin: EVIL })).status).toBe(403)
    expect((await post('/vouchers/999999999/seckill', { origin: FRONTEND })).status).toBe(404)
    // The session survived the refused logouts; safe methods are never refused.
    expect((await withCookie('/users/me', cookie, { headers: { origin: EVIL } })).status).toBe(200)
  })

  it('bearer clients are unaffected by the CSRF check', async () => {
    const { body } = await login(app)
    const res = await app.fetch('/auth/logout', {
      method: 'POST',
      token: body.token,
      headers: { origin: EVIL, cookie: '__Host-session=forged-by-someone-else' },
    })
    expect(res.status).toBe(204)
  })

  it('same-origin and allowed-origin requests pass; logout clears the cookie and ends the session', async () => {
    const { body } = await login(app)
    const cookie = `__Host-session=${body.token}`
    const sameOrigin = await withCookie('/vouchers/999999999/seckill', cookie, {
      method: 'POST',
      headers: { 'sec-fetch-site': 'same-origin' },
    })
    expect(sameOrigin.status).toBe(404)
    const own = await withCookie('/vouchers/999999999/seckill', cookie, {
      method: 'POST',
      headers: { origin: app.url },
    })
    expect(own.status).toBe(404)
    const out = await withCookie('/auth/logout', cookie, {
      method: 'POST',
      headers: { origin: FRONTEND },
    })
    expect(out.status).toBe(204)
    const cleared = out.headers.get('set-cookie')!
    expect(cleared).toMatch(/^__Host-session=;/)
    expect(cleared.toLowerCase()).toMatch(/max-age=0/)
    expect((await withCookie('/users/me', cookie)).status).toBe(401)
  })
})

describe('browser sessions are opt-in', () => {
  it('without SESSION_COOKIE no cookie is set and a cookie is not accepted', async () => {
    const app = await startTestApp('memory')
    try {
      const { res, body } = await login(app)
      expect(res.headers.get('set-cookie')).toBeNull()
      const me = await app.fetch('/users/me', {
        headers: { cookie: `__Host-session=${body.token}` },
      })
      expect(me.status).toBe(401)
    } finally {
      await app.close()
    }
  })

  it('CSRF_ALLOWED_ORIGINS must be origins; PUBLIC_URL is allowed by default', () => {
    expect(() => loadConfig({ CSRF_ALLOWED_ORIGINS: 'https://a.example/path' })).toThrow(
      /CSRF_ALLOWED_ORIGINS/
    )
    expect(
      loadConfig({
        SESSION_COOKIE: 'on',
        PUBLIC_URL: 'https://api.example/',
        CSRF_ALLOWED_ORIGINS: 'https://a.example, https://b.example:8443',
      }).browser
    ).toEqual({
      cookie: true,
      allowedOrigins: ['https://api.example', 'https://a.example', 'https://b.example:8443'],
    })
  })
})
