import { afterAll, beforeAll, describe, expect, expectTypeOf, inject, it } from 'vitest'
import { createClient } from '../src/client.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'

let seq = 0
function phone(): string {
  return `135${String(process.pid % 10_000).padStart(4, '0')}${String(seq++).padStart(4, '0')}`
}

describe.each(appKinds(inject('services')))('typed client (hono/client) [%s]', (kind) => {
  let app: TestApp
  beforeAll(async () => {
    app = await startTestApp(kind)
  })
  afterAll(() => app?.close())

  it('logs in and makes typed calls against the running app', async () => {
    const api = createClient(app.url)
    const p = phone()
    const sent = await api.auth.code.$post({ json: { phone: p } })
    expect(sent.status).toBe(202)
    if (sent.status !== 202) return
    const { devCode, expiresInSeconds } = await sent.json()
    expectTypeOf(expiresInSeconds).toEqualTypeOf<number>()
    expectTypeOf(devCode).toEqualTypeOf<string | undefined>()

    const logged = await api.auth.login.$post({ json: { phone: p, code: devCode ?? '' } })
    expect(logged.status).toBe(200)
    if (logged.status !== 200) return
    const session = await logged.json()
    expectTypeOf(session.token).toEqualTypeOf<string>()
    expectTypeOf(session.created).toEqualTypeOf<boolean>()
    expect(session.created).toBe(true)

    const me = createClient(app.url, { headers: { authorization: `Bearer ${session.token}` } })
    const mine = await me.users.me.$get()
    expect(mine.status).toBe(200)
    if (mine.status !== 200) return
    const user = await mine.json()
    expectTypeOf(user.phone).toEqualTypeOf<string>()
    expect(user).toMatchObject({ id: session.user.id, phone: `+86${p}` })

    const profile = await api.users[':id'].$get({ param: { id: session.user.id } })
    expect(profile.status).toBe(200)
    if (profile.status === 200) expect((await profile.json()).nickname).toBe(user.nickname)

    // Error statuses are typed too: an anonymous call is a 401 problem.
    const anonymous = await api.users.me.$get()
    expect(anonymous.status).toBe(401)
  })
})
