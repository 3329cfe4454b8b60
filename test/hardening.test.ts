import { request } from 'node:http'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { DependencyUnavailable } from '../src/domain/errors.ts'
import { appKinds, startTestApp, type TestApp } from './harness/app.ts'
import { makeUsers, type TestUser } from './harness/users.ts'
import { signQStashJwt } from './stack/qstash-server.ts'

const services = inject('services')
const ADMIN_TOKEN = 'hardening-admin-token-0123456789'

type Json = Record<string, unknown>

/** Asserts a problem+json answer with `status` and `code`; returns the body. */
async function expectProblem(res: Response, status: number, code: string): Promise<Json> {
  const text = await res.text()
  expect({ status: res.status, text }).toMatchObject({ status })
  expect(res.headers.get('content-type')).toMatch(/application\/problem\+json/)
  const body = JSON.parse(text) as Json
  expect(body.code).toBe(code)
  return body
}

/**
 * Streams up to `totalBytes` of JSON-ish filler (chunked, no Content-Length) until the server
 * answers; returns the status and how many bytes were written by then.
 */
function streamBody(url: string, totalBytes: number): Promise<{ status: number; written: number }> {
  return new Promise((resolve, reject) => {
    let written = 0
    let answered = false
    const req = request(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
    })
    req.on('response', (res) => {
      answered = true
      res.resume()
      res.on('end', () => resolve({ status: res.statusCode ?? 0, written }))
    })
    req.on('error', (e) => (answered ? undefined : reject(e)))
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    const pump = () => {
      while (!answered && written < totalBytes) {
        written += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      if (!answered) req.end()
    }
    req.write('{"phone":"')
    pump()
  })
}

const fieldsOf = (body: Json) => (body.errors as { path: string }[]).map((e) => e.path)

describe.each(appKinds(services))('hardened edges (%s)', (kind) => {
  let app: TestApp
  let user: TestUser | undefined
  let typeId: string
  let shopId: string
  const admin = { token: ADMIN_TOKEN }
  let failNextUpdate = false

  beforeAll(async () => {
    app = await startTestApp(kind, {
      env: { ADMIN_TOKEN, SEED_DEMO_DATA: 'true' },
      decorate: {
        // Fault injection: the next shop row update fails as if the database went away.
        shops: (repo) =>
          new Proxy(repo, {
            get(target, prop) {
              if (prop === 'update' && failNextUpdate) {
                return async () => {
                  failNextUpdate = false
                  throw new DependencyUnavailable('database')
                }
              }
              const value = Reflect.get(target, prop, target)
              return typeof value === 'function' ? value.bind(target) : value
            },
          }),
      },
    })
    ;[user] = await makeUsers(app, 1)
    const types = (await (await app.fetch('/shop-types')).json()) as { items: { id: string }[] }
    typeId = types.items[0]!.id
    const shop = await app.fetch('/shops', {
      ...admin,
      method: 'POST',
      json: { name: 'edge shop', typeId, address: 'addr 1', lng: 120.1, lat: 30.2, avgPrice: 10 },
    })
    expect(shop.status).toBe(201)
    shopId = ((await shop.json()) as { id: string }).id
  })
  afterAll(() => app?.close())

  const voucher = (over: Json = {}) => ({
    shopId,
    title: 'v',
    payValue: 100,
    actualValue: 200,
    ...over,
  })
  const sale = (over: Json = {}) =>
    voucher({
      stock: 5,
      beginAt: '2030-01-01T00:00:00Z',
      endAt: '2030-01-02T00:00:00Z',
      ...over,
    })

  it('rejects a NUL character in a query, a user body and an admin body with 400', async () => {
    const search = await expectProblem(
      await app.fetch('/shops/search?name=a%00b'),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(search)).toEqual(['query.name'])
    const blog = await expectProblem(
      await app.fetch('/blogs', {
        method: 'POST',
        token: user!.token,
        json: { shopId, title: 'a\u0000b', content: 'ok' },
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(blog)).toEqual(['json.title'])
    const shop = await expectProblem(
      await app.fetch('/shops', {
        ...admin,
        method: 'POST',
        json: { name: 'x', typeId, address: 'a\u0000', lng: 1, lat: 1, avgPrice: 1 },
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(shop)).toEqual(['json.address'])
    const v = await expectProblem(
      await app.fetch('/vouchers', {
        ...admin,
        method: 'POST',
        json: voucher({ rules: '\u0000' }),
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(v)).toEqual(['json.rules'])
  })

  it('rejects voucher dates outside 1970–9999 and keeps the shop readable', async () => {
    for (const beginAt of [
      '0001-01-01T00:00:00Z',
      '0099-12-31T00:00:00Z',
      '1969-12-31T23:59:59Z',
    ]) {
      const body = await expectProblem(
        await app.fetch('/vouchers/seckill', { ...admin, method: 'POST', json: sale({ beginAt }) }),
        400,
        'VALIDATION_FAILED'
      )
      expect(fieldsOf(body)).toEqual(['json.beginAt'])
    }
    const list = await app.fetch(`/shops/${shopId}/vouchers`)
    expect(list.status).toBe(200)
  })

  it('rejects integers beyond int4 and ids beyond int8 with 400 naming the field', async () => {
    const big = await expectProblem(
      await app.fetch('/vouchers', {
        ...admin,
        method: 'POST',
        json: voucher({ payValue: 2 ** 31, actualValue: 2 ** 31 }),
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(big).sort()).toEqual(['json.actualValue', 'json.payValue'])
    const id = await expectProblem(
      await app.fetch('/vouchers', {
        ...admin,
        method: 'POST',
        json: voucher({ shopId: '9999999999999999999' }),
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(id)).toEqual(['json.shopId'])
    const path = await expectProblem(
      await app.fetch('/shops/9223372036854775808'),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(path)).toEqual(['param.id'])
    // The largest int8 is still a well-formed id.
    expect((await app.fetch('/shops/9223372036854775807')).status).toBe(404)
  })

  it('answers an unknown shopId on voucher creation with 400 naming the field (database FK)', async () => {
    const body = await expectProblem(
      await app.fetch('/vouchers', {
        ...admin,
        method: 'POST',
        json: voucher({ shopId: '987654321' }),
      }),
      400,
      'VALIDATION_FAILED'
    )
    expect(fieldsOf(body)).toEqual(['json.shopId'])
  })

  it('answers 413 problem+json for a body over the limit, declared or streamed, without reading it whole', async () => {
    const declared = await app.fetch('/auth/code', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ phone: 'x'.repeat(1024 * 1024) }),
    })
    const body = await expectProblem(declared, 413, 'PAYLOAD_TOO_LARGE')
    expect(body.limitBytes).toBe(64 * 1024)
    const streamed = await streamBody(`${app.url}/blogs`, 100 * 1024 * 1024)
    expect(streamed.status).toBe(413)
    // Answered long before the 100 MB were sent (socket buffers hold a few MB at most).
    expect(streamed.written).toBeLessThan(16 * 1024 * 1024)
  })

  // Signed deliveries need the QStash stand-in's keys: the real stack only.
  if (kind === 'real')
    it('dead-letter route: signature first, then 400 non-retryable for junk (never 500)', async () => {
      const url = `${app.url}/internal/queue/orders.persist/dead`
      const signingKey = app.stack!.env.QSTASH_CURRENT_SIGNING_KEY!
      const post = async (body: string, signed = true) =>
        fetch(url, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            ...(signed
              ? { 'upstash-signature': await signQStashJwt(signingKey, { sub: url, body }) }
              : {}),
          },
        })
      expect((await post('not json', false)).status).toBe(401)
      const cases = [
        'not json',
        JSON.stringify({ hello: 'world' }),
        JSON.stringify({ sourceBody: '%%%not-base64', sourceMessageId: 'm1' }),
        JSON.stringify({ sourceBody: btoa('not json either'), sourceMessageId: 'm2' }),
        JSON.stringify({ sourceBody: btoa('\xff\xfe'), sourceMessageId: 'm3' }),
      ]
      for (const body of cases) {
        const res = await post(body)
        await expectProblem(res, 400, 'VALIDATION_FAILED')
        expect(res.headers.get('upstash-nonretryable-error')).toBe('true')
      }
    })

  it('coordinates of 0 work on create and update, and a failed row update leaves the index as the row', async () => {
    const nearby = async (lng: number, lat: number) => {
      const res = await app.fetch(`/shops/nearby?typeId=${typeId}&lng=${lng}&lat=${lat}&size=50`)
      expect(res.status).toBe(200)
      return ((await res.json()) as { items: { id: string }[] }).items.map((s) => s.id)
    }
    const body = {
      name: 'null island',
      typeId,
      address: 'Gulf of Guinea',
      lng: 0,
      lat: 0,
      avgPrice: 1,
    }
    const created = await app.fetch('/shops', { ...admin, method: 'POST', json: body })
    expect(created.status).toBe(201)
    const id = ((await created.json()) as { id: string }).id
    expect(await nearby(0, 0)).toContain(id)
    // Move it onto the equator (latitude 0 again, as a batch member).
    const moved = await app.fetch(`/shops/${id}`, {
      ...admin,
      method: 'PUT',
      json: { ...body, lng: 10, lat: 0 },
    })
    expect(moved.status).toBe(200)
    expect(await nearby(10, 0)).toContain(id)
    expect(await nearby(0, 0)).not.toContain(id)
    // The row update fails after the index was written: the index is put back where the row is.
    failNextUpdate = true
    const failed = await app.fetch(`/shops/${id}`, {
      ...admin,
      method: 'PUT',
      json: { ...body, lng: 20, lat: 0 },
    })
    await expectProblem(failed, 503, 'DEPENDENCY_UNAVAILABLE')
    expect(await nearby(10, 0)).toContain(id)
    expect(await nearby(20, 0)).not.toContain(id)
    const row = (await (await app.fetch(`/shops/${id}`)).json()) as { lng: number }
    expect(row.lng).toBeCloseTo(10)
  })
})
