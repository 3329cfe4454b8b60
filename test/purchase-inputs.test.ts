import { createRoute, OpenAPIHono, type RouteHandler } from '@hono/zod-openapi'
import { describe, expect, it } from 'vitest'
import type { AppEnv } from '../src/app/http/env.ts'
import { purchaseInputs, validationHook } from '../src/app/http/validation.ts'
import { IdParam } from '../src/app/routes/hmdp/envelope.ts'
import { PurchaseHeaders } from '../src/app/routes/seckill.ts'
import { IdString } from '../src/app/routes/users.ts'
import { utcDay } from '../src/domain/ids.ts'

/**
 * `purchaseInputs` lets well-formed purchase inputs skip the routes' zod validators. The answer
 * must be the same as the validators' for every input: here the same route is mounted with and
 * without it, on both id schemas (native IdString, hmdp Id), and every answer is compared.
 */
describe('purchase inputs: the fast path answers as the zod validators do', () => {
  const routeOf = (params: typeof IdParam) =>
    createRoute({
      method: 'post',
      path: '/buy/{id}',
      request: { params, headers: PurchaseHeaders },
      responses: { 200: { description: 'ok' } },
    })
  const native = routeOf(IdParam.extend({ id: IdString }) as unknown as typeof IdParam)
  const hmdp = routeOf(IdParam)

  const appsFor = (route: typeof hmdp) => {
    let fast = 0
    const handler: RouteHandler<typeof route, AppEnv> = (c) =>
      c.json({ param: c.req.valid('param'), header: c.req.valid('header') }, 200)
    const counted: typeof handler = (c, next) => {
      fast++
      return handler(c, next)
    }
    const plain = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(route, handler)
    const withFastPath = new OpenAPIHono<AppEnv>({ defaultHook: validationHook }).openapi(
      { ...route, middleware: [purchaseInputs(counted)] as const },
      handler
    )
    return { plain, withFastPath, fastCount: () => fast }
  }

  const ids = [
    '1',
    '42',
    '9223372036854775807', // int8 max
    '9223372036854775808', // int8 max + 1: hmdp's Id accepts it, IdString refuses it
    '9999999999999999999',
    '12345678901234567890', // 20 digits
    '0',
    '007',
    '-1',
    'abc',
    '1e3',
    '%31%32', // percent-encoded digits: the routes see the decoded "12"
    '%20',
    '1%00',
  ]
  const keys: (string | undefined)[] = [
    undefined,
    'checkout-1',
    'a',
    'A.b:c_d-9',
    'x'.repeat(64),
    'x'.repeat(65),
    'has spaces',
    'ünicode',
    'semi;colon',
  ]

  for (const [name, route] of [
    ['native', native],
    ['hmdp', hmdp],
  ] as const) {
    it(`${name}: same status and body for every id × key, and the fast path is taken`, async () => {
      const { plain, withFastPath, fastCount } = appsFor(route)
      let wellFormed = 0
      let overInt8 = 0
      for (const id of ids) {
        for (const key of keys) {
          const init = (): RequestInit => ({
            method: 'POST',
            headers: key === undefined ? {} : { 'idempotency-key': key },
          })
          const a = await plain.request(`/buy/${id}`, init())
          const b = await withFastPath.request(`/buy/${id}`, init())
          const label = `${id} ${key}`
          expect([label, b.status], label).toEqual([label, a.status])
          expect(await b.json(), label).toEqual(await a.json())
          if (a.status === 200) wellFormed++
          if (a.status === 200 && BigInt(decodeURIComponent(id)) > 9223372036854775807n) overInt8++
        }
      }
      // Every well-formed request took the fast path, but those with an id over int8 max, which
      // hmdp's Id accepts and the fast path leaves to the validators (none of the malformed did).
      expect(wellFormed).toBeGreaterThanOrEqual(20)
      expect(overInt8).toBe(name === 'hmdp' ? 10 : 0)
      expect(fastCount()).toBe(wellFormed - overInt8)
    })
  }
})

describe('utcDay', () => {
  it('is the UTC day of the time, across midnights in both directions', () => {
    const midnight = Date.UTC(2026, 11, 3)
    expect(utcDay(midnight - 1)).toBe('20261202')
    expect(utcDay(midnight)).toBe('20261203')
    expect(utcDay(midnight - 0.5)).toBe('20261202')
    expect(utcDay(midnight + 86_399_999)).toBe('20261203')
    expect(utcDay(midnight + 86_400_000)).toBe('20261204')
    expect(utcDay(midnight - 1)).toBe('20261202')
    expect(utcDay(0)).toBe('19700101')
    expect(utcDay(-1)).toBe('19691231')
    expect(utcDay(-0.5)).toBe('19700101')
    expect(utcDay(Date.UTC(2028, 1, 29, 12))).toBe('20280229')
    expect(() => utcDay(Number.NaN)).toThrow(RangeError)
  })
})
